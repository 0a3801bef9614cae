"""xlperf: the yearly budget performance-target workflow (绩效目标表) from spreadsheets."""

__version__ = "0.1.0"

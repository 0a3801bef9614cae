"""The command line: click commands, each a few lines over one library call (commands), and the rendering
of results for a terminal or JSON (output)."""
from .commands import cli, main

__all__ = ["cli", "main"]

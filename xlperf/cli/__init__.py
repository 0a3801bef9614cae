"""The command line: click commands, each a few lines over one library call (main), and the rendering
of results for a terminal or JSON (output)."""
from .main import cli, main

__all__ = ["cli", "main"]

"""The `sketch` command (Click): each command parses its options, calls the package, renders.

main.py        the commands; user errors and signals handled once, in its group
ui.py          rich console, tables, one-line errors
render.py      braille art of a drawing
about.py       `sketch info`: versions, devices, datasets
"""

from .main import main

__all__ = ["main"]

"""How the CLI speaks to a user on stderr: one ``error:`` line, ``warning:`` lines, never rich markup.

Messages hold user text (paths, config keys, file names) that may contain ``[...]``; they are
printed as plain text so that nothing in them is read as markup or vanishes.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text


def one_line(message: str) -> str:
    """``message`` with its line breaks (and the indentation after them) folded into single spaces."""
    return re.sub(r"\s*\n\s*", " ", str(message)).strip()


def print_error(message: str, console: Console | None = None) -> None:
    """Print ``error: <message>`` as one red-labelled line on stderr."""
    console = console or Console(stderr=True)
    console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)), soft_wrap=True, highlight=False)


def print_warning(message: str, console: Console | None = None) -> None:
    """Print ``warning: <message>`` as one yellow-labelled line on stderr."""
    console = console or Console(stderr=True)
    console.print(Text.assemble(("warning:", "bold yellow"), " ", one_line(message)), soft_wrap=True,
                  highlight=False)


def print_note(label: str, message: str, console: Console, style: str = "yellow") -> None:
    """Print ``<label> <message>`` with only the label styled (run notes such as dropped data)."""
    console.print(Text.assemble((label, style), " ", one_line(message)), soft_wrap=True, highlight=False)

"""Terminal output: one rich console for tables, one for messages; no TensorFlow here."""

from __future__ import annotations

import os
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

out = Console(highlight=False)  # results: tables, JSON
err = Console(stderr=True, highlight=False)  # progress, notes, warnings


def note(message: str) -> None:
    err.print(message, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)


@contextmanager
def user_errors(*extra: type[BaseException]):
    """Turns the errors a user can cause into one-line messages (SKETCH_DEBUG=1 shows tracebacks)."""
    try:
        yield
    except (ValueError, OSError, *extra) as error:
        if os.environ.get("SKETCH_DEBUG"):
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise click.ClickException(message) from None


def table(title: str | None, columns: list[str], rows: list[list], justify_numbers: bool = True) -> Table:
    result = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        result.add_column(name, justify="right" if justify_numbers and index > 0 else "left")
    for row in rows:
        result.add_row(*[str(cell) for cell in row])
    return result


def download_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )

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
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from ..errors import SketchError, describe_os_error, missing_extra


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`| head -1`): BrokenPipeError for the command line to stop on with
        the shell's status 141, not rich's exit 1."""
        self.quiet = True
        raise BrokenPipeError


out = _Console(highlight=False)  # results: tables, JSON
err = _Console(stderr=True, highlight=False)  # progress, notes, warnings


def note(message: str) -> None:
    err.print(printable(message), markup=False, soft_wrap=True)


def warn(message: str) -> None:
    err.print(f"warning: {printable(message)}", style="yellow", markup=False, soft_wrap=True)


SHOWN = 20  # lines of one kind shown before a summary of the rest


def warn_some(lines: list[str], what: str) -> None:
    """The first SHOWN warnings, then one line counting the rest (1,100 unknown words are one line)."""
    for line in lines[:SHOWN]:
        warn(line)
    if len(lines) > SHOWN:
        warn(f"... and {len(lines) - SHOWN:,} more {what}")


def note_some(lines: list[str], what: str) -> None:
    for line in lines[:SHOWN]:
        note(line)
    if len(lines) > SHOWN:
        note(f"... and {len(lines) - SHOWN:,} more {what}")


@contextmanager
def user_errors():
    """Turns the errors a user can cause (SketchError; OSError: a full disk, a read-only folder)
    into one-line messages. Anything else is a bug and keeps its traceback; SKETCH_DEBUG=1
    shows tracebacks for user errors too."""
    try:
        yield
    except BrokenPipeError:
        raise  # the reader of our output went away: the command line stops quietly
    except ModuleNotFoundError as error:
        if missing_extra(error) is None:
            raise
        raise click.ClickException(missing_extra(error)) from None
    except (SketchError, OSError) as error:
        if os.environ.get("SKETCH_DEBUG"):
            raise
        message = describe_os_error(error) if isinstance(error, OSError) else str(error)
        raise click.ClickException(one_line(message) or type(error).__name__) from None


def one_line(text: str) -> str:
    """The first line of a message, printable."""
    return printable(text.splitlines()[0] if text else "")


def printable(text: str) -> str:
    """Control characters escaped: a hostile key_id, word or file name must not clear the
    screen or move the cursor."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


def table(title: str | None, columns: list[str], rows: list[list], justify_numbers: bool = True) -> Table:
    result = Table(title=title, title_justify="left", show_header=any(columns))  # no empty header row
    for index, name in enumerate(columns):
        result.add_column(name, justify="right" if justify_numbers and index > 0 else "left")
    for row in rows:
        result.add_row(*[str(cell) for cell in row])
    return result


def download_progress() -> Progress:
    """One summary task (``summary=True``: a bar of categories, no byte columns) and a task per
    file being read."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *(_FileOnly(column) for column in (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())),
        console=err,
        transient=True,
    )


class _FileOnly(ProgressColumn):
    """A column of a file's task, left blank on the summary line."""

    def __init__(self, column: ProgressColumn):
        super().__init__()
        self.column = column

    def render(self, task):
        return Text("") if task.fields.get("summary") else self.column.render(task)

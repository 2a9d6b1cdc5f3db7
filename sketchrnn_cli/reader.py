"""Quick, Draw! ndjson lines -> parsed drawings, or the reason a line was skipped.

A bad line never stops the reader: it becomes a ``Skipped`` record naming file:line and why,
and reading goes on with the next line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from .strokes import DEFAULT_MAX_LENGTH, parse_drawing


@dataclass(frozen=True)
class Drawing:
    sequence: np.ndarray  # float32 stroke-3 [N, 3]
    source: str
    line: int
    word: str | None = None
    key_id: str | None = None
    recognized: bool | None = None


@dataclass(frozen=True)
class Skipped:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


MAX_LINE_BYTES = 256 << 20  # a drawing of millions of points fits; /dev/zero does not
BYTE_ORDER_MARK = b"\xef\xbb\xbf"  # some editors start UTF-8 files with it


def lines_of(handle: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary file, none longer than ``limit`` + 1 bytes (an over-long line
    comes out cut, and read_lines stops there): memory stays bounded on any input."""
    while line := handle.readline(limit + 1):
        yield line


def read_lines(
    lines: Iterable[bytes], source: str, max_length: int = DEFAULT_MAX_LENGTH, limit: int = MAX_LINE_BYTES
) -> Iterator[Drawing | Skipped]:
    """Parses every non-blank line; yields a Drawing or a Skipped for each. A line longer
    than ``limit`` bytes is not ndjson: it is reported, and the rest of the source is left."""
    for number, raw in enumerate(lines, start=1):
        if len(raw) > limit:
            yield Skipped(source, number, f"line is longer than {limit:,} bytes; the rest of the input is not read")
            return
        if number == 1 and raw.startswith(BYTE_ORDER_MARK):
            raw = raw[len(BYTE_ORDER_MARK):]
        if not raw.strip():
            continue
        try:
            yield parse_line(raw, source, number, max_length)
        except ValueError as error:
            yield Skipped(source, number, str(error))


def parse_line(raw: bytes, source: str, line: int, max_length: int = DEFAULT_MAX_LENGTH) -> Drawing:
    """One ndjson line (a Quick, Draw! object or a bare ``drawing`` array) -> Drawing."""
    value = json_value(raw, "line")
    if isinstance(value, list):
        return Drawing(parse_drawing(value, max_length), source, line)
    if not isinstance(value, dict) or "drawing" not in value:
        raise ValueError("expected a JSON object with a 'drawing' field, or a drawing array")
    word, key_id = value.get("word"), value.get("key_id")
    if word is not None and not isinstance(word, str):
        raise ValueError("'word' is not a string")
    if key_id is not None and not isinstance(key_id, (str, int)):
        raise ValueError("'key_id' is not a string")
    for name, text in (("word", word), ("key_id", key_id)):
        if isinstance(text, str) and not _is_unicode(text):
            raise ValueError(f"'{name}' is not valid Unicode (a lone surrogate)")
    recognized = value.get("recognized")
    return Drawing(
        sequence=parse_drawing(value["drawing"], max_length),
        source=source,
        line=line,
        word=word,
        key_id=None if key_id is None else str(key_id),
        recognized=recognized if isinstance(recognized, bool) else None,
    )


def json_value(raw: bytes, what: str):
    """Decoded JSON text; ValueError naming what was wrong with ``what`` (a line, a body)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"bad JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise ValueError("bad JSON (nested too deeply)") from None


def _is_unicode(text: str) -> bool:
    """False for strings JSON allows but UTF-8 cannot hold (lone surrogates like "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

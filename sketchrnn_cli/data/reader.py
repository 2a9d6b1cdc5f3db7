"""Quick, Draw! ndjson lines (and Kaggle's CSV files) -> parsed drawings, or the reason a line
was skipped.

A bad line never stops the reader: it becomes a ``Skipped`` record naming file:line and why,
and reading goes on with the next line.

Kaggle's "Quick, Draw! Doodle Recognition" CSV files are read by their header: the train files
are ``countrycode,drawing,key_id,recognized,timestamp,word``, ``test_simplified.csv`` is
``key_id,countrycode,drawing`` (no word); ``drawing`` is the drawing's JSON as a string. Each
row becomes the ndjson object it stands for, so both formats go through one parser.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .strokes import DEFAULT_MAX_LENGTH, drawing_svg, parse_drawing


@dataclass(frozen=True)
class Drawing:
    """One parsed drawing: its stroke-3 sequence and where it came from. In a notebook it shows
    itself as a picture."""

    sequence: np.ndarray  # float32 stroke-3 [N, 3]
    source: str
    line: int
    word: str | None = None
    key_id: str | None = None
    recognized: bool | None = None

    def _repr_svg_(self) -> str:
        return drawing_svg(self.sequence)


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
            raw = raw[len(BYTE_ORDER_MARK) :]
        if not raw.strip():
            continue
        try:
            yield parse_line(raw, source, number, max_length)
        except ValueError as error:
            yield Skipped(source, number, str(error))


def parse_line(raw: bytes, source: str, line: int, max_length: int = DEFAULT_MAX_LENGTH) -> Drawing:
    """One ndjson line (a Quick, Draw! object or a bare ``drawing`` array) -> Drawing."""
    return parse_record(json_value(raw, "line"), source, line, max_length)


def parse_record(value, source: str, line: int, max_length: int = DEFAULT_MAX_LENGTH) -> Drawing:
    """A decoded Quick, Draw! object (or bare ``drawing`` array) -> Drawing."""
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
    except ValueError as error:  # Python's own limit on the digits of an int: no drawing has such numbers
        if "digits" not in str(error):
            raise
        raise ValueError("bad JSON (a number of thousands of digits)") from None


def _is_unicode(text: str) -> bool:
    """False for strings JSON allows but UTF-8 cannot hold (lone surrogates like "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


CSV_FIELDS = ("key_id", "word", "countrycode", "recognized", "timestamp")  # kept when the header has them


def csv_records(handle: BinaryIO, source: str) -> Iterator[tuple[int, dict | Skipped]]:
    """(line number, the Quick, Draw! object the row stands for, or why it cannot be one) for
    each row of a Kaggle CSV file; a file without a ``drawing`` column is one Skipped."""
    csv.field_size_limit(MAX_LINE_BYTES)
    # Bytes that are not UTF-8 become lone surrogates, found row by row: one bad row is one skip.
    rows = csv.reader(io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline=""))
    try:
        header = next(rows, None)
        if header is None or "drawing" not in header:
            yield 1, Skipped(source, 1, "a CSV file needs a header with a 'drawing' column (Kaggle's format)")
            return
        columns = {name: header.index(name) for name in ("drawing", *CSV_FIELDS) if name in header}
        for row in rows:
            number = rows.line_num
            if not row:
                continue
            if len(row) != len(header):
                yield number, Skipped(source, number, f"{len(row)} fields where the header has {len(header)}")
                continue
            if not all(_is_unicode(field) for field in row):
                yield number, Skipped(source, number, "the row is not UTF-8 text")
                continue
            fields = {name: row[index] for name, index in columns.items()}
            record: dict[str, object] = dict(fields)
            try:
                record["drawing"] = json_value(fields["drawing"].encode(), "the drawing column")
            except ValueError as error:
                yield number, Skipped(source, number, f"the drawing column: {error}")
                continue
            if "recognized" in fields:
                record["recognized"] = fields["recognized"].strip().lower() == "true"
            yield number, record
    except (UnicodeDecodeError, csv.Error) as error:
        yield rows.line_num, Skipped(source, rows.line_num, f"not a readable CSV file ({error}); the rest is not read")


def read_csv(handle: BinaryIO, source: str, max_length: int = DEFAULT_MAX_LENGTH) -> Iterator[Drawing | Skipped]:
    for number, record in csv_records(handle, source):
        if isinstance(record, Skipped):
            yield record
            continue
        try:
            yield parse_record(record, source, number, max_length)
        except ValueError as error:
            yield Skipped(source, number, str(error))


def is_csv(path) -> bool:
    return str(path).lower().endswith(".csv")


def read_file(handle: BinaryIO, source: str, max_length: int = DEFAULT_MAX_LENGTH) -> Iterator[Drawing | Skipped]:
    """The drawings of an ndjson file, or of a Kaggle CSV file (by its name)."""
    return read_csv(handle, source, max_length) if is_csv(source) else read_lines(lines_of(handle), source, max_length)

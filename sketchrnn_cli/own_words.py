"""Your own drawings as a source: ndjson files of any words (as `sketch draw` saves them), or
Kaggle's Quick, Draw! CSV files, regrouped into the bucket's layout, one file per word, so
`sketch download` converts them like any category. Pure Python: no TensorFlow.

Each line is checked here, so a bad one is reported against the user's own file and line; the
regrouped files hold only drawings that parse.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .artifacts import TEMPORARY_PREFIX
from .errors import SketchError
from .reader import BYTE_ORDER_MARK, csv_records, is_csv, json_value, lines_of, parse_record
from .sources import relative_path

MAX_WORD_CHARS = 100  # a category name that is also a file name


@dataclass(frozen=True)
class Regrouped:
    words: tuple[str, ...]  # sorted; the categories of the dataset
    source: Path  # a bucket-layout folder to download from
    skipped: tuple[str, ...]  # "file:line: reason" for each line left out


def word_problem(word) -> str | None:
    """Why a drawing's word cannot name a category (it becomes a file name), or None."""
    if not isinstance(word, str) or not word:
        return "has no 'word' (the category it shows)"
    if word != word.strip() or not word.isprintable() or len(word) > MAX_WORD_CHARS:
        return f"word {word!r} is not 1 to {MAX_WORD_CHARS} printable characters without spaces around them"
    if "/" in word or "\\" in word or word.startswith("."):
        return f"word {word!r} cannot be a file name (no '/', '\\' or leading '.')"
    return None


def input_files(path: Path) -> list[Path]:
    """An ndjson or Kaggle CSV file, or a folder's *.ndjson and *.csv regular files (a FIFO
    would never end)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise SketchError(f"{path}: no such file or folder of drawings")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".ndjson", ".csv") and p.is_file())
    if not files:
        raise SketchError(f"{path}: holds no .ndjson or .csv files")
    return files


def records(file: Path) -> Iterator[tuple[int, dict | str]]:
    """(line, the Quick, Draw! object, or why the line is not one) of an ndjson or CSV file."""
    with file.open("rb") as handle:
        if is_csv(file):
            for number, record in csv_records(handle, str(file)):
                yield number, record if isinstance(record, dict) else record.reason
            return
        for number, raw in enumerate(lines_of(handle), start=1):
            if number == 1 and raw.startswith(BYTE_ORDER_MARK):
                raw = raw[len(BYTE_ORDER_MARK):]
            if raw.strip():
                try:
                    yield number, json_value(raw, "line")
                except ValueError as error:
                    yield number, str(error)


def regroup(path: Path, out: Path, format: str, max_length: int) -> Regrouped:
    """Writes ``out/full/<format>/<word>.ndjson`` for every word in the files under ``path``,
    streaming (one line in memory at a time); each file is renamed into place whole, so an
    unchanged word keeps its conversion."""
    if format == "npz":
        raise SketchError("your own drawings are ndjson or CSV: use --format simplified or raw with them")
    folder = (out / relative_path(format, "any")).parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=folder))
    try:
        handles, skipped = {}, []
        for file in input_files(path):
            for number, record in records(file):
                problem = record if isinstance(record, str) else _problem(record, str(file), number, max_length)
                if problem:
                    skipped.append(f"{file}:{number}: {problem}")
                    continue
                word = record["word"]
                if word not in handles:
                    handles[word] = (staging / f"{word}.ndjson").open("wb")
                handles[word].write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        for handle in handles.values():
            handle.close()
        if not handles:
            raise SketchError(f"{path}: no drawing with a usable word" + (f" ({skipped[0]})" if skipped else ""))
        for word in handles:
            os.replace(staging / f"{word}.ndjson", folder / f"{word}.ndjson")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Regrouped(tuple(sorted(handles)), out, tuple(skipped))


def _problem(record, source: str, line: int, max_length: int) -> str | None:
    """Why a decoded object cannot be one of the dataset's drawings, or None."""
    try:
        drawing = parse_record(record, source, line, max_length)
    except ValueError as error:
        return str(error)
    return word_problem(drawing.word)

"""Your own drawings as a source: ndjson files of any words (as `sketch draw` saves them), or
Kaggle's Quick, Draw! CSV files, regrouped into the bucket's layout, one file per word, so
`sketch download` converts them like any category. Pure Python: no TensorFlow.

The regrouped files are the data folder's record of your drawings: each run adds to them
(a drawing whose key_id is already there is not added twice), never replaces them. Words are
named by the one normalisation of categories.key: "Cat" and "paint_can" are the official
"cat" and "paint can", and join those categories (download.py). Each line is checked here,
so a bad one is reported against the user's own file and line; the regrouped files hold only
drawings that parse. The caller holds the data folder's download lock.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..artifacts import TEMPORARY_PREFIX, remove_path
from ..errors import SketchError
from . import categories
from .reader import BYTE_ORDER_MARK, csv_records, is_csv, json_value, lines_of, parse_record
from .sources import relative_path

MAX_WORD_CHARS = 100  # a category name that is also a file name
# A file name holds 255 bytes; a word's longest is a temporary chunk name, ~40 bytes around it.
MAX_WORD_BYTES = 200
OPEN_FILES = 64  # regrouped files open at once, whatever the number of words


@dataclass(frozen=True)
class Regrouped:
    words: tuple[str, ...]  # sorted: the words of this input, as the dataset names them
    source: Path  # a bucket-layout folder to download from (every word added so far)
    skipped: tuple[str, ...]  # "file:line: reason" for each line left out
    added: dict[str, int]  # word -> drawings new to the data folder
    merged: tuple[str, ...] = ()  # "'Cat' is 'cat'": spellings taken for another category's


def word_problem(word) -> str | None:
    """Why a drawing's word cannot name a category (it becomes a file name), or None. The one
    rule: `sketch draw` refuses at save what a download would refuse."""
    if not isinstance(word, str) or not word:
        return "has no 'word' (the category it shows)"
    if word != word.strip() or not word.isprintable() or len(word) > MAX_WORD_CHARS:
        return f"word {word!r} is not 1 to {MAX_WORD_CHARS} printable characters without spaces around them"
    if len(word.encode("utf-8")) > MAX_WORD_BYTES:
        return f"word {word[:20]!r}... is {len(word.encode('utf-8'))} bytes in UTF-8; at most {MAX_WORD_BYTES}"
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


def input_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in input_files(path))


def records(file: Path) -> Iterator[tuple[int, dict | str]]:
    """(line, the Quick, Draw! object, or why the line is not one) of an ndjson or CSV file."""
    with file.open("rb") as handle:
        if is_csv(file):
            for number, record in csv_records(handle, str(file)):
                yield number, record if isinstance(record, dict) else record.reason
            return
        for number, raw in enumerate(lines_of(handle), start=1):
            if number == 1 and raw.startswith(BYTE_ORDER_MARK):
                raw = raw[len(BYTE_ORDER_MARK) :]
            if raw.strip():
                try:
                    yield number, json_value(raw, "line")
                except ValueError as error:
                    yield number, str(error)


def words_folder(out: Path, format: str) -> Path:
    return (Path(out) / relative_path(format, "any")).parent


def stored_words(out: Path, format: str) -> list[str]:
    """Every word whose drawings were regrouped into ``out`` before, sorted."""
    folder = words_folder(out, format)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.ndjson") if p.is_file() and not p.name.startswith("."))


def regroup(path: Path, out: Path, format: str, max_length: int) -> Regrouped:
    """Adds the drawings of the files under ``path`` to ``out/full/<format>/<word>.ndjson``,
    streaming (one line in memory, at most OPEN_FILES files open); each file that gains
    drawings is renamed into place whole, so an unchanged word keeps its conversion."""
    if format == "npz":
        raise SketchError("your own drawings are ndjson or CSV: use --format simplified or raw with them")
    files = input_files(path)
    folder = words_folder(out, format)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(TEMPORARY_PREFIX + "*"):  # a killed regroup's (we hold the lock)
        remove_path(leftover)
    spellings = categories.official_spellings()
    for word in stored_words(out, format):
        categories.canonical(word, spellings)
    staging = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=folder))
    try:
        writer = _Regrouper(folder, staging)
        skipped: list[str] = []
        merged: dict[str, str] = {}
        for file in files:
            for number, record in records(file):
                problem = record if isinstance(record, str) else _problem(record, str(file), number, max_length)
                if problem or isinstance(record, str):
                    skipped.append(f"{file}:{number}: {problem}")
                    continue
                word = categories.canonical(record["word"], spellings)
                if word != record["word"]:
                    merged.setdefault(record["word"], word)
                    record = {**record, "word": word}
                writer.add(word, record)
        writer.close()
        if not writer.words:
            raise SketchError(f"{path}: no drawing with a usable word" + (f" ({skipped[0]})" if skipped else ""))
        for word in writer.grown():
            os.replace(staging / f"{word}.ndjson", folder / f"{word}.ndjson")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Regrouped(
        tuple(sorted(writer.words)),
        Path(out),
        tuple(skipped),
        dict(writer.added),
        tuple(f"{given!r} is {word!r}" for given, word in merged.items()),
    )


class _Regrouper:
    """One staging file per word: the word's earlier drawings first, then the new ones whose
    key_id it does not hold yet. Files are closed and reopened for appending as needed."""

    def __init__(self, folder: Path, staging: Path):
        self.folder, self.staging = folder, staging
        self.words: set[str] = set()
        self.added: dict[str, int] = {}
        self._key_ids: dict[str, set[str]] = {}  # the key_ids each word holds, earlier ones included
        self._open: OrderedDict[str, BinaryIO] = OrderedDict()

    def add(self, word: str, record: dict) -> None:
        if word not in self.words:
            self._start(word)
        key_id = record.get("key_id")
        if key_id is not None:
            if str(key_id) in self._key_ids[word]:
                return
            self._key_ids[word].add(str(key_id))
        self._handle(word).write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        self.added[word] += 1

    def grown(self) -> list[str]:
        return [word for word, count in self.added.items() if count]

    def close(self) -> None:
        while self._open:
            self._open.popitem(last=False)[1].close()

    def _start(self, word: str) -> None:
        self.words.add(word)
        self.added[word] = 0
        self._key_ids[word] = set()
        earlier = self.folder / f"{word}.ndjson"
        if earlier.is_file():
            handle = self._handle(word)
            with earlier.open("rb") as lines:
                for line in lines:
                    handle.write(line)
                    try:
                        key_id = json.loads(line).get("key_id")
                    except ValueError:
                        continue
                    if key_id is not None:
                        self._key_ids[word].add(str(key_id))

    def _handle(self, word: str) -> BinaryIO:
        if word in self._open:
            self._open.move_to_end(word)
            return self._open[word]
        if len(self._open) >= OPEN_FILES:
            self._open.popitem(last=False)[1].close()
        self._open[word] = (self.staging / f"{word}.ndjson").open("ab")
        return self._open[word]


def _problem(record, source: str, line: int, max_length: int) -> str | None:
    """Why a decoded object cannot be one of the dataset's drawings, or None."""
    try:
        drawing = parse_record(record, source, line, max_length)
    except ValueError as error:
        return str(error)
    return word_problem(drawing.word)

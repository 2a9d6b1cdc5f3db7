"""Your own drawings as a source: ndjson files of any words (as `sketch draw` saves them)
regrouped into the bucket's layout, one file per word, so `sketch download` converts them like
any category. Pure Python: no TensorFlow.

Each line is checked here, so a bad one is reported against the user's own file and line; the
regrouped files hold only drawings that parse.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .artifacts import atomic_write
from .errors import SketchError
from .reader import BYTE_ORDER_MARK, lines_of, parse_line
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
    """An ndjson file, or a folder's *.ndjson regular files (a FIFO would never end)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise SketchError(f"{path}: no such file or folder of drawings")
    files = sorted(p for p in path.glob("*.ndjson") if p.is_file())
    if not files:
        raise SketchError(f"{path}: holds no .ndjson files")
    return files


def regroup(path: Path, out: Path, format: str, max_length: int) -> Regrouped:
    """Writes ``out/full/<format>/<word>.ndjson`` for every word in the files under ``path``
    (each file rewritten whole, so an unchanged word keeps its conversion)."""
    if format == "npz":
        raise SketchError("your own drawings are ndjson: use --format simplified or raw with them")
    by_word, skipped = defaultdict(list), []
    for file in input_files(path):
        with file.open("rb") as handle:
            for number, raw in enumerate(lines_of(handle), start=1):
                if number == 1 and raw.startswith(BYTE_ORDER_MARK):
                    raw = raw[len(BYTE_ORDER_MARK):]
                if not raw.strip():
                    continue
                try:
                    drawing = parse_line(raw, str(file), number, max_length)
                except ValueError as error:
                    skipped.append(f"{file}:{number}: {error}")
                    continue
                if problem := word_problem(drawing.word):
                    skipped.append(f"{file}:{number}: {problem}")
                    continue
                by_word[drawing.word].append(raw.rstrip(b"\r\n") + b"\n")
    if not by_word:
        raise SketchError(f"{path}: no drawing with a usable word" + (f" ({skipped[0]})" if skipped else ""))
    for word, lines in by_word.items():
        target = out / relative_path(format, word)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp, lines=lines: tmp.write_bytes(b"".join(lines)))
    return Regrouped(tuple(sorted(by_word)), out, tuple(skipped))

"""Parsed drawings -> examples per split, with caps, filters and a record of what was skipped.

Pure Python and NumPy. Reading stops as soon as a category has ``max_per_class`` drawings,
so a lazily downloaded file is only fetched as far as it is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .reader import Drawing, Skipped, read_lines
from .splits import SPLITS, split_of
from .strokes import DEFAULT_MAX_LENGTH, sketch_rnn_to_stroke3

SKIPPED_KEPT = 1000  # details kept for the report; all are counted


@dataclass(frozen=True)
class Example:
    key: str  # unique within the dataset
    key_id: str
    category: str
    sequence: np.ndarray


@dataclass(frozen=True)
class CollectOptions:
    max_per_class: int | None = None  # None: every drawing in the file
    recognized_only: bool = False  # keep only drawings the game recognised
    max_length: int = DEFAULT_MAX_LENGTH  # points kept per drawing


@dataclass
class Collected:
    examples: dict[str, list[Example]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: int = 0
    unrecognized_count: int = 0  # dropped by recognized_only; not errors
    known_count: int = 0  # left out as the category holds them already (your own drawings of it)
    kept: int = 0  # drawings added, flushed ones included
    flush: Callable[[Collected], None] | None = None  # takes the examples away once flush_every are held
    flush_every: int = 0

    def add(self, example: Example, split: str) -> None:
        self.examples[split].append(example)
        self.kept += 1
        if self.flush is not None and sum(map(len, self.examples.values())) >= self.flush_every:
            self.flush(self)

    def skip(self, record: Skipped) -> None:
        self.skipped_count += 1
        if len(self.skipped) < SKIPPED_KEPT:
            self.skipped.append(record)


def collect_ndjson(
    collected: Collected,
    category: str,
    lines: Iterable[bytes],
    source: str,
    options: CollectOptions,
    known: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Adds the drawings of one category's ndjson lines to ``collected``, but for those whose
    key_id is ``known`` (counted, not reported)."""
    seen: set[str] = set()
    kept = 0
    if options.max_per_class == 0:
        return
    for record in read_lines(lines, source, options.max_length):
        if isinstance(record, Skipped):
            collected.skip(record)
            continue
        reason = _reason_to_skip(record, category, seen)
        if reason:
            collected.skip(Skipped(source, record.line, reason))
            continue
        if record.key_id in known:
            collected.known_count += 1
            continue
        if options.recognized_only and record.recognized is False:
            collected.unrecognized_count += 1
            continue
        key_id = record.key_id or ""  # _reason_to_skip refused a drawing without one
        seen.add(key_id)
        _add(collected, category, key_id, record.sequence)
        kept += 1
        if kept == options.max_per_class:
            break  # read no further: the source may be a download in progress


def collect_npz(collected: Collected, category: str, arrays, source: str, options: CollectOptions) -> None:
    """Adds a Sketch-RNN ``.npz`` (arrays ``train``/``valid``/``test`` of stroke-3) as given.

    These files carry their own splits and no key_id, so their splits are kept.
    """
    for split in SPLITS:
        if split not in arrays:
            collected.skip(Skipped(source, 0, f"no '{split}' array in the .npz file"))
            continue
        for index, raw in enumerate(arrays[split][: options.max_per_class]):
            try:
                sequence = sketch_rnn_to_stroke3(raw, options.max_length)
            except ValueError as error:
                collected.skip(Skipped(source, index + 1, f"{split}[{index}]: {error}"))
                continue
            key_id = f"{split}-{index}"
            collected.add(Example(f"{category}/{key_id}", key_id, category, sequence), split)


def _reason_to_skip(record: Drawing, category: str, seen: set[str]) -> str | None:
    if record.key_id is None:
        return "no 'key_id' (needed to assign the split)"
    if record.word is not None and record.word != category:
        return f"word {record.word!r} does not match the file's category {category!r}"
    if record.key_id in seen:
        return f"duplicate key_id {record.key_id}"
    return None


def _add(collected: Collected, category: str, key_id: str, sequence: np.ndarray) -> None:
    collected.add(Example(f"{category}/{key_id}", key_id, category, sequence), split_of(key_id))

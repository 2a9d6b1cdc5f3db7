"""Which split a drawing belongs to: a stable hash of its key_id, nothing else.

Not Python's hash() (salted per process) and not the line number (files get reordered and
grow): the same key_id lands in the same split on every machine, in every run.
"""

from __future__ import annotations

import zlib

SPLITS = ("train", "valid", "test")
SCORED_SPLITS = ("test", "valid")  # what sketch evaluate scores a run on
# Percent of drawings per split, in SPLITS order.
SPLIT_PERCENT = (80, 10, 10)


def split_of(key_id: str) -> str:
    bucket = zlib.crc32(key_id.encode("utf-8")) % 100
    if bucket < SPLIT_PERCENT[0]:
        return "train"
    if bucket < SPLIT_PERCENT[0] + SPLIT_PERCENT[1]:
        return "valid"
    return "test"

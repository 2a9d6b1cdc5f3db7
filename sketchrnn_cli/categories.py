"""The 345 Quick, Draw! category names, shipped with the package (categories.txt, the list
Google publishes), and fuzzy suggestions for names that are not among them.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path

from .errors import SketchError

_NAMES_FILE = Path(__file__).with_name("categories.txt")


class UnknownCategoryError(SketchError):
    pass


@lru_cache(maxsize=1)
def all_categories() -> tuple[str, ...]:
    """The canonical names, spelled as Google spells them (spaces, capitals)."""
    return tuple(line.strip() for line in _NAMES_FILE.read_text(encoding="utf-8").splitlines() if line.strip())


def resolve(names: list[str]) -> list[str]:
    """Checks names against the canonical list, keeping the user's order, dropping repeats.

    Matching forgives case and underscores ("paint_can" -> "paint can"); anything else
    unknown raises UnknownCategoryError with the closest real names.
    """
    by_key = {_key(name): name for name in all_categories()}
    resolved, unknown = [], []
    for name in names:
        canonical = by_key.get(_key(name))
        if canonical is None:
            unknown.append(name)
        elif canonical not in resolved:
            resolved.append(canonical)
    if unknown:
        raise UnknownCategoryError("; ".join(_unknown_message(name) for name in unknown))
    if not resolved:
        raise UnknownCategoryError("no categories given")
    return resolved


def parse_list(text: str) -> list[str]:
    """"cat, airplane,paint can" or one name per line (a file) -> names; '#' starts a comment."""
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        names += [part.strip() for part in line.split(",") if part.strip()]
    return names


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def _unknown_message(name: str) -> str:
    close = difflib.get_close_matches(name, all_categories(), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown category {name!r}{hint}"

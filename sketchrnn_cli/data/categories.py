"""The 345 Quick, Draw! category names, shipped with the package (categories.txt, the list
Google publishes), and fuzzy suggestions for names that are not among them.
"""

from __future__ import annotations

import difflib
import unicodedata
from functools import lru_cache
from pathlib import Path

from ..errors import SketchError

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
    return resolve_among(names, all_categories())


def resolve_among(names: list[str], known: tuple[str, ...]) -> list[str]:
    """``resolve`` against any list of names (a dataset's categories, your own words among them)."""
    by_key = {key(name): name for name in known}
    resolved, unknown = [], []
    for name in names:
        match = by_key.get(key(name))
        if match is None:
            unknown.append(name)
        elif match not in resolved:
            resolved.append(match)
    if unknown:
        raise UnknownCategoryError("; ".join(_unknown_message(name, known) for name in unknown))
    if not resolved:
        raise UnknownCategoryError("no categories given")
    return resolved


def parse_list(text: str) -> list[str]:
    """ "cat, airplane,paint can" or one name per line (a file) -> names; '#' starts a comment."""
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        names += [part.strip() for part in line.split(",") if part.strip()]
    return names


def key(name: str) -> str:
    """The one normalisation of category names, everywhere: two names with the same key are
    the same category ("Paint_Can" and "paint can"; NFC and NFD spellings of "café")."""
    return " ".join(unicodedata.normalize("NFC", name).replace("_", " ").split()).casefold()


def canonical(name: str, known: dict[str, str]) -> str:
    """The spelling a category goes by: the official one, else the first one ``known`` (key ->
    spelling) holds, else ``name`` in NFC (and ``known`` learns it)."""
    return known.setdefault(key(name), unicodedata.normalize("NFC", name))


def official_spellings() -> dict[str, str]:
    """key -> name for the 345 official categories (a fresh dict for canonical to extend)."""
    return {key(name): name for name in all_categories()}


def _unknown_message(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown category {name!r}{hint}"

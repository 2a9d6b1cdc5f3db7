"""Whatever a Python caller hands over as drawings -> parsed drawings, by the same code as the
command line (reader.parse_record, strokes.parse_drawing). No TensorFlow.

Accepted, one drawing or a list of them (each its own form):
    a Quick, Draw! stroke list     [[xs], [ys]] or [[xs], [ys], [ts]] per stroke
    a parsed ndjson object         {"drawing": [...], "word": ..., "key_id": ...}
    a stroke-3 array               float [N, 3] of (dx, dy, pen_lift), as sketch makes them
    a parsed drawing               reader.Drawing
    a file path (str or Path)      an ndjson or Kaggle CSV file: every drawing in it
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Union

import numpy as np
import numpy.typing as npt

from ..data.reader import Drawing, Skipped, parse_record, read_file
from ..errors import SketchError, describe_os_error

# A NumPy array of numbers (its shape and values are checked where it is read).
Array = npt.NDArray[np.float32] | npt.NDArray[np.float64] | npt.NDArray[np.int32] | npt.NDArray[np.int64]
# One drawing in any accepted form, or a file of them.
DrawingLike = Union[str, "os.PathLike[str]", Mapping[str, object], Array, Sequence[object], Drawing]
SOURCE = "<python>"


def is_one_drawing(value: object) -> bool:
    """Whether ``value`` is one drawing (and not a list of drawings or a file)."""
    if isinstance(value, (Drawing, Mapping)):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 2
    if isinstance(value, (str, os.PathLike)) or not isinstance(value, Sequence) or not value:
        return False
    first = value[0]  # a stroke ([xs, ys]) has a list of numbers first; a drawing, a stroke
    return isinstance(first, Sequence) and not isinstance(first, str) and bool(first) and _is_numbers(first[0])


def _is_numbers(value: object) -> bool:
    return (
        isinstance(value, (Sequence, np.ndarray))
        and not isinstance(value, str)
        and (len(value) == 0 or isinstance(value[0], (int, float, np.number)) and not isinstance(value[0], bool))
    )


def as_drawings(inputs: DrawingLike | Sequence[DrawingLike], max_length: int) -> list[Drawing]:
    """Every drawing in ``inputs``, parsed; SketchError naming what is wrong and where (the index
    in a list, file:line in a file)."""
    if is_one_drawing(inputs):
        return [_one(inputs, 0, max_length, single=True)]
    if isinstance(inputs, (str, os.PathLike)):
        return _from_file(Path(inputs), max_length)
    if not isinstance(inputs, Sequence) or isinstance(inputs, (bytes, bytearray)):
        raise SketchError(f"drawings must be a drawing, a list of drawings or a file path, not {type(inputs).__name__}")
    drawings: list[Drawing] = []
    for index, item in enumerate(inputs):
        if isinstance(item, (str, os.PathLike)):
            drawings += _from_file(Path(item), max_length)
        else:
            drawings.append(_one(item, index, max_length))
    return drawings


def _one(value: object, index: int, max_length: int, single: bool = False) -> Drawing:
    where = "the drawing" if single else f"drawing {index}"
    if isinstance(value, Drawing):
        return value
    if isinstance(value, np.ndarray):
        return Drawing(_stroke3(value, where, max_length), SOURCE, index)
    try:
        return parse_record(_plain(value), SOURCE, index, max_length)
    except ValueError as error:
        raise SketchError(f"{where}: {error}") from None


def _plain(value: object) -> object:
    """Lists and dicts for the parser: tuples and NumPy arrays inside become lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _stroke3(array: Array, where: str, max_length: int) -> npt.NDArray[np.float32]:
    """A stroke-3 array as sketch makes them: [N, 3], finite, the pen bit 0 or 1, cut to max_length."""
    if array.ndim != 2 or array.shape[1] != 3 or len(array) == 0:
        raise SketchError(f"{where}: a stroke-3 array must be [N, 3] with N >= 1, got shape {list(array.shape)}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise SketchError(f"{where}: a stroke-3 array must hold finite numbers")
    if not np.isin(array[:, 2], (0, 1)).all():
        raise SketchError(f"{where}: the third column of a stroke-3 array is the pen lift, 0 or 1")
    sequence = np.array(array[:max_length], dtype=np.float32)
    sequence[-1, 2] = 1.0  # a cut drawing ends with the pen lifted, as strokes.py cuts them
    return sequence


def _from_file(path: Path, max_length: int) -> list[Drawing]:
    """Every drawing of an ndjson or Kaggle CSV file; SketchError at the first bad line."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise SketchError(describe_os_error(error)) from None
    with handle:
        drawings = []
        for record in read_file(handle, str(path), max_length):
            if isinstance(record, Skipped):
                raise SketchError(str(record))
            drawings.append(record)
    return drawings

"""Reads Sketch-RNN ``.npz`` files without trusting them.

Their arrays hold one variable-length stroke-3 array per drawing, so NumPy stores them as
object arrays, which means pickle, which means ``np.load(allow_pickle=True)`` would run any
code a crafted file names. This reader unpickles with an allow-list of NumPy array
constructors only.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..errors import SketchError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


MAX_MEMBER_BYTES = 2 << 30  # the largest Sketch-RNN file holds ~100 MB; a zip bomb holds far more


def load_npz(path: Path, max_bytes: int = MAX_MEMBER_BYTES) -> dict[str, np.ndarray]:
    """{array name: array} of an .npz; raises SketchError naming the file for anything odd.

    Memory is bounded before anything is read: each member's uncompressed size (the zip
    header, which the reader enforces) and, for arrays of drawings, the values they hold
    (a pickle can name one big array many times) must stay under ``max_bytes``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                Path(member.filename).stem: _read_member(archive, member, max_bytes)
                for member in archive.infolist()
                if member.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError, OSError) as error:
        raise SketchError(f"{path}: not a readable .npz file ({error})") from None


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_bytes: int) -> np.ndarray:
    if member.file_size > max_bytes:
        raise ValueError(f"{member.filename} would unpack to {member.file_size:,} bytes (over {max_bytes:,})")
    array = _read_array(archive, member.filename)
    if array.dtype.hasobject:
        values = sum(np.asarray(item).size for item in array.ravel())
        if values * 2 > max_bytes:  # int16 at least: what converting them would take
            raise ValueError(f"{member.filename} refers to {values:,} values (shared references; over the limit)")
    return array


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(name) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        if dtype.hasobject:
            array = _ArraysOnly(handle, encoding="latin1").load()
            return np.asarray(array, dtype=object)
        data = np.frombuffer(handle.read(), dtype=dtype)
        return data.reshape(shape, order="F" if fortran else "C")

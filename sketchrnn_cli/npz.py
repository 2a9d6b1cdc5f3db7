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

from .errors import SketchError

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


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """{array name: array} of an .npz; raises SketchError naming the file for anything odd."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                Path(name).stem: _read_member(archive, name)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except (zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError, OSError) as error:
        raise SketchError(f"{path}: not a readable .npz file ({error})") from None


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
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

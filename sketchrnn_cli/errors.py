"""The one user-error type. Standard library only.

`SketchError` is a problem the user can fix (a bad option, file, config, download or disk);
the command line shows it as one line. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path


class SketchError(Exception):
    """A problem with the user's input, files, network or disk; the message names where."""


class ExitNow(SketchError):
    """An error after which the process must end as soon as it has said so, with ``exit_code``:
    JAX's own shutdown at exit would wait for processes that never joined or are gone, then
    abort with a trace."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class PeerLost(ExitNow):
    """Processes training in step lost one of them."""


def first_line(error: BaseException, limit: int = 200) -> str:
    """An error's first line, at most ``limit`` characters (its type's name when it has no
    message): what a one-line report quotes of a library's error."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:limit]


# The extra that brings each optional module: `pip install "sketchrnn-cli[EXTRA]"`.
EXTRAS = {
    "tensorflow": "train",
    "tensorflow_datasets": "train",
    "keras": "train",
    "tensorboard": "train",
    "absl": "train",
    "jax": "jax",
    "apache_beam": "beam",
    "onnxruntime": "onnx",
    "onnx": "onnx",
    "tf2onnx": "onnx",
}


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """One line saying which extra to install, when ``error`` is one of ours; else None."""
    module = (error.name or "").split(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return None
    return f'this command needs {module}, which the slim install leaves out: pip install "sketchrnn-cli[{extra}]"'


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def require(*modules: str) -> None:
    """Before a command starts work: SketchError naming the extra to install, if a module it
    will need is missing (a download should not fetch gigabytes, then fail at the build)."""
    for module in modules:
        if not installed(module):
            raise SketchError(missing_extra(ModuleNotFoundError(name=module)))


_HINTS = {
    errno.ENOSPC: "the disk is full; free some space or choose a folder on another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or choose another folder",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "not permitted; choose a folder you can write to",
    errno.EROFS: "the file system is read-only; choose a folder you can write to",
    errno.ELOOP: "it is a symbolic link, which sketch never writes through; remove it",
}


def describe_os_error(error: OSError) -> str:
    """One line naming the file and what to do: '<path>: <problem>'."""
    what = (_HINTS.get(error.errno) if error.errno is not None else None) or (error.strerror or str(error)).lower()
    where = error.filename if error.filename is not None else None
    if where is None:
        return f"{what} ({os.strerror(error.errno)})" if error.errno else what
    return f"{os.fspath(where)}: {what}"


# How libraries that wrap the OS (TensorFlow, h5py) spell the errors a user can fix.
_SPELLINGS = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "Read-only file system": errno.EROFS,
    "Permission denied": errno.EACCES,
}


@contextmanager
def writing(path: Path):
    """Around a library's writes into ``path``: a full disk or a read-only folder comes out as
    the OSError it is (which the command line shows as one line), whatever type the library
    gave it. Other errors pass unchanged."""
    try:
        yield
    except OSError as error:
        if error.filename is None and error.errno in _HINTS:
            raise OSError(error.errno, os.strerror(error.errno), os.fspath(path)) from None
        raise
    except Exception as error:  # TensorFlow's OpError, h5py's own errors ...
        code = next((number for text, number in _SPELLINGS.items() if text in str(error)), None)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), os.fspath(path)) from None

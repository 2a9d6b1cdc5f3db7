"""The run folder: the only module that knows its file names. No TensorFlow here.

    config.json      RunConfig: the only thing the model is rebuilt from
    labels.txt       category names, one per line, in output order
    model.keras      the best weights (Keras 3 format)
    model.tflite     the same model for LiteRT (batch of one drawing)
    history.json     per-epoch metrics
    summary.json     what the run ended with
    logs/            TensorBoard
    checkpoint/      the last checkpoint (for --resume):
      last.weights.h5    weights and optimizer state
      best.npz           the best weights so far
      progress.json      schedule.TrainingState: where the run is, its best, its history

Every file is written to a temporary name (``.sketch-tmp-*``) in the same folder, then
renamed into place, so a crash never leaves a half-written file under a real name and a
symbolic link planted under a real name is replaced, never written through.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, RunConfig, parse_json
from .errors import SketchError, describe_os_error

UMASK = os.umask(0)  # read once: the mode new files and folders get
os.umask(UMASK)


class RunError(SketchError):
    """A run folder is missing, damaged, busy or from an incompatible version."""


@dataclass(frozen=True)
class RunFiles:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def labels(self) -> Path:
        return self.root / "labels.txt"

    @property
    def keras_model(self) -> Path:
        return self.root / "model.keras"

    @property
    def tflite_model(self) -> Path:
        return self.root / "model.tflite"

    @property
    def onnx_model(self) -> Path:
        return self.root / "model.onnx"

    @property
    def saved_model(self) -> Path:
        return self.root / "saved_model"

    @property
    def history(self) -> Path:
        return self.root / "history.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"


@dataclass(frozen=True)
class CheckpointFiles:
    """The files of one checkpoint folder (RunFiles.checkpoint, or its finished copy)."""

    root: Path

    @property
    def last_weights(self) -> Path:
        return self.root / "last.weights.h5"

    @property
    def best_weights(self) -> Path:
        return self.root / "best.npz"

    @property
    def state(self) -> Path:
        return self.root / "progress.json"


RUNS_ROOT = Path("runs")  # where new runs go, and where commands look for the newest one


def is_trained_run(folder: Path) -> bool:
    """A run is a folder holding model.keras (its best weights, written when training ends)."""
    return RunFiles(Path(folder)).keras_model.is_file()


def trained_runs(root: Path = RUNS_ROOT) -> list[Path]:
    """Every trained run directly under ``root``, by name."""
    return sorted(folder for folder in Path(root).glob("*") if folder.is_dir() and is_trained_run(folder))


def newest_run(root: Path = RUNS_ROOT) -> Path:
    """The most recently trained run under ``root`` (by its model file); RunError when none is."""
    runs = trained_runs(root) if Path(root).is_dir() else []
    if not runs:
        raise RunError(f"no trained run under {root}/; train one or pass --model RUN_DIR")
    return max(runs, key=lambda run: RunFiles(run).keras_model.stat().st_mtime)


def new_run_dir(arch: str, root: Path = RUNS_ROOT) -> Path:
    """A fresh run folder's name: when it started and what it trains."""
    import time

    return Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{arch}"


TEMPORARY_PREFIX = ".sketch-tmp-"  # the only names remove_unfinished deletes


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Calls write(temporary path) then renames it to ``path``; the suffix is kept for Keras.

    A rename replaces whatever ``path`` was, a symbolic link included, and never writes
    through it; a crash leaves only a temporary file, never a half-written ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, name = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as error:  # named by the file the user asked for, not our temporary one
        raise OSError(error.errno, error.strerror, os.fspath(path)) from None
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes files private; give them the usual mode
        os.replace(tmp, path)
    except OSError as error:
        if error.filename not in (None, name, str(tmp)):
            raise
        raise OSError(error.errno, error.strerror, os.fspath(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def replace_folder(folder: Path, fill: Callable[[Path], object]) -> None:
    """Fills a fresh sibling folder, then swaps it in for ``folder`` (old kept until the swap)."""
    fresh = folder.with_name(folder.name + ".new")
    old = folder.with_name(folder.name + ".old")
    remove_path(fresh)
    fresh.mkdir(parents=True)
    try:
        fill(fresh)
    except BaseException:
        remove_path(fresh)  # a half-filled folder is worth nothing
        raise
    if folder.exists() or folder.is_symlink():
        remove_path(old)
        os.replace(folder, old)
    os.replace(fresh, folder)
    remove_path(old)


def remove_path(path: Path) -> None:
    """Removes a file, a symbolic link (never what it points to) or a folder we made."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def is_run_or_empty(folder: Path) -> bool:
    """Whether sketch train may work in ``folder``: new, empty, or already a run."""
    if not folder.exists():
        return True
    if not folder.is_dir() or folder.is_symlink():
        return False
    files = RunFiles(folder)
    ours = lambda path: path == files.lock or path.name.startswith(TEMPORARY_PREFIX)  # noqa: E731
    return files.config.is_file() or all(ours(path) for path in folder.iterdir())


def remove_if_only_lock(files: RunFiles) -> None:
    """Removes a run folder that holds nothing but our lock (a start that failed)."""
    try:
        if [path.name for path in files.root.iterdir()] == [files.lock.name] and not files.lock.is_symlink():
            files.lock.unlink()
            files.root.rmdir()
    except OSError:
        pass  # someone else's by now, or gone: leave it


def remove_unfinished(files: RunFiles) -> None:
    """Deletes what a killed writer of ours left, by the names only we use: temporary files
    and a half-filled checkpoint. Nothing else in the folder is touched."""
    for path in files.root.glob(TEMPORARY_PREFIX + "*"):
        if path.is_file() or path.is_symlink():
            path.unlink()
    remove_path(files.checkpoint.with_name(files.checkpoint.name + ".new"))


def finished_folder(folder: Path) -> Path | None:
    """The last complete copy of a folder written by replace_folder, if any."""
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        if candidate.is_dir() and not candidate.is_symlink():
            return candidate
    return None


def write_config(files: RunFiles, config: RunConfig) -> None:
    atomic_write_text(files.config, config.to_json() + "\n")
    atomic_write_text(files.labels, "".join(f"{label}\n" for label in config.data.labels))


def read_config(files: RunFiles) -> RunConfig:
    """The run's config, checked against its labels file; RunError names the problem."""
    if not files.root.is_dir():
        raise RunError(f"{files.root}: no such run folder")
    if not files.config.is_file():
        raise RunError(f"{files.config}: missing; is {files.root} a run folder made by sketch train?")
    try:
        config = RunConfig.from_json(files.config.read_text())
    except (ConfigError, UnicodeDecodeError) as error:
        raise RunError(f"{files.config}: {error}") from None
    if files.labels.is_file():
        labels = tuple(line for line in files.labels.read_text().splitlines() if line)
        if labels != config.data.labels:
            raise RunError(
                f"{files.labels}: {len(labels)} labels that differ from the {len(config.data.labels)} in config.json"
            )
    return config


@contextmanager
def exclusive(files: RunFiles):
    """Holds the run folder's lock; a second trainer gets a clear RunError, not a corrupt run.
    The lock file is opened without following links: a planted link cannot make us write."""
    import fcntl  # POSIX only; prediction never takes this lock

    files.root.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(files.lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        raise RunError(f"{files.lock}: cannot open the run's lock ({describe_os_error(error)})") from None
    with os.fdopen(descriptor, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = handle.read().strip() or "another process"
            raise RunError(f"{files.root} is in use by {owner}; wait for it or choose another --run-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"sketch train (pid {os.getpid()})")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_json(path: Path):
    """A JSON file of a run; RunError naming the file for anything unreadable."""
    try:
        return parse_json(path.read_text(), path.name)
    except OSError as error:
        raise RunError(f"{path}: cannot read ({describe_os_error(error)})") from None
    except (ConfigError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: cannot read ({error})") from None

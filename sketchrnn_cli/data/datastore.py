"""The data folder: the only module that knows its layout, and where a build is read from
(``dataset_dir``, ``dataset_info``): training, evaluation and tf.data read builds through here,
never through the download workflow. Standard library only.

    <data>/downloads/full/<format>/<category>.ndjson   source files (``.part`` while fetching)
    <data>/own-words/full/<format>/<word>.ndjson       your own drawings, one file per word
    <data>/converted/<setting>/[own/]<category>.*      converted shards (convert.py)
    <data>/datasets/<format>/<build>/                  a published dataset build, never modified
    <data>/datasets/<format>/CURRENT                   the name of the newest build
    <data>/datasets/<format>/.staging-<build>/         a build being written (not a dataset yet)
    <data>/.download.lock                              held while sketch download writes here

A build is written into its staging folder and published by one rename and a rewrite of
CURRENT, so a reader sees the old build or the new one, never half of either. Readers
(``reading``) hold a shared lock on their build; an old build is removed only when no one
holds it. Locks are POSIX file locks, opened without following links.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import atomic_write_text
from ..config import FORMATS, ConfigError, parse_json
from ..errors import SketchError, describe_os_error

LEGACY = Path("tfds") / "quickdraw_strokes"  # where sketch 0.x kept one dataset per format
READERS_LOCK = ".readers.lock"
METADATA = "metadata.json"  # a build's categories, counts per split, format, max_length, skipped lines


def formats_root(data_dir: Path, format: str) -> Path:
    return Path(data_dir) / "datasets" / format


def downloads_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "downloads"


def own_words_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "own-words"


def dataset_dir(data_dir: Path, format: str) -> Path | None:
    """The newest published build of this format (or a dataset of sketch 0.x), if any."""
    root = formats_root(data_dir, format)
    try:
        name = (root / "CURRENT").read_text().strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if name and "/" not in name and name not in (".", "..") and _is_build(root / name):
        return root / name
    legacy = sorted(p for p in (Path(data_dir) / LEGACY / format).glob("*.*.*") if _is_build(p))
    return legacy[-1] if legacy else None


def build_named(data_dir: Path, format: str, name: str) -> Path | None:
    """A build by the name a run recorded, if it still exists."""
    path = formats_root(data_dir, format) / name
    return path if name and "/" not in name and _is_build(path) else None


def _is_build(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / METADATA).is_file()


def new_staging(data_dir: Path, format: str) -> Path:
    """An empty folder to write a new build into."""
    root = formats_root(data_dir, format)
    root.mkdir(parents=True, exist_ok=True)
    # Private, but only until publish: the build inside it is made with the usual mode.
    return Path(tempfile.mkdtemp(prefix=f".staging-{time.strftime('%Y%m%d-%H%M%S')}-", dir=root))


def publish(staging: Path, built: Path) -> Path:
    """Moves the complete dataset ``built`` (inside ``staging``) into place as the newest build,
    then removes the staging folder and every older build no one is reading."""
    root = staging.parent
    name = staging.name.removeprefix(".staging-")
    final = root / name
    os.replace(built, final)
    atomic_write_text(root / "CURRENT", name + "\n")
    shutil.rmtree(staging, ignore_errors=True)
    remove_unread_builds(root, keep=final)
    return final


def discard(staging: Path) -> None:
    """A build that failed: its staging folder goes, the published build stays as it was."""
    shutil.rmtree(staging, ignore_errors=True)


def remove_unread_builds(root: Path, keep: Path) -> None:
    for build in root.iterdir():
        if build == keep or build.name.startswith(".") or not _is_build(build):
            continue
        with _lock(build / READERS_LOCK, shared=False, wait=False) as held:
            if held:
                shutil.rmtree(build, ignore_errors=True)
    for staging in root.glob(".staging-*"):  # left by a killed download (we hold the download lock)
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def reading(build: Path):
    """Holds a shared lock on a build while it is read, so that no download removes it."""
    with _lock(build / READERS_LOCK, shared=True, wait=True):
        if not _is_build(build):
            raise SketchError(f"{build}: the dataset was removed while opening it; run the command again")
        yield build


@contextmanager
def downloading(data_dir: Path):
    """The data folder's write lock: one sketch download at a time writes there."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    path = Path(data_dir) / ".download.lock"
    with _lock(path, shared=False, wait=False, note=f"sketch download (pid {os.getpid()})") as held:
        if not held:
            owner = path.read_text(errors="replace").strip() or "another sketch download"
            raise SketchError(f"{data_dir} is in use by {owner}; wait for it to finish")
        yield


@contextmanager
def _lock(path: Path, shared: bool, wait: bool, note: str = ""):
    """Yields whether the lock is held. Without fcntl (Windows) nothing is locked, and True."""
    try:
        import fcntl
    except ImportError:
        yield True
        return
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        if shared and error.errno in (errno.EROFS, errno.EACCES):
            yield True  # a read-only dataset: no one can remove it under us either
            return
        raise SketchError(f"{path}: cannot open the lock ({describe_os_error(error)})") from None
    with os.fdopen(descriptor, "r+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        if note:
            handle.truncate()
            handle.write(note)
            handle.flush()
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chosen_build(data_dir: Path, format: str | None, build: str = "") -> Path:
    """The build to train on: the one a resumed run began on (``build``) while it exists, else
    the newest of ``format`` (None: the only format there, else simplified)."""
    if build and format and (path := build_named(data_dir, format, build)):
        return path
    built = built_datasets(data_dir)
    if not built:
        raise SketchError(f"no dataset in {data_dir}; run sketch download first")
    if format is None:
        format = next(iter(built)) if len(built) == 1 else "simplified"
    if format not in built:
        raise SketchError(f"no {format} dataset in {data_dir} (it has: {', '.join(built)})")
    return built[format]


def built_datasets(data_dir: Path) -> dict[str, Path]:
    return {f: path for f in FORMATS if (path := dataset_dir(data_dir, f)) is not None}


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    labels: tuple[str, ...]
    counts: dict[str, dict[str, int]]  # {category: {split: drawings}}
    max_length: int  # points kept per drawing at download time
    format: str  # simplified, raw or npz: what the drawings were made from

    def count(self, split: str, labels: tuple[str, ...] | None = None) -> int:
        return sum(self.counts[label][split] for label in (labels or self.labels))


def dataset_info(path: Path) -> DatasetInfo:
    """Labels and counts of a dataset made by `sketch download`, read from its metadata."""
    metadata_file = Path(path) / METADATA
    try:
        metadata = parse_json(metadata_file.read_text(), "metadata.json")
        # Datasets of sketch 0.x did not record their format; their folder was named by it.
        format = metadata.get("format", Path(path).parent.name)
        info = DatasetInfo(
            Path(path), tuple(metadata["categories"]), metadata["counts"], int(metadata["max_length"]), format
        )
        info.count("train")  # every category has counts
        return info
    except OSError as error:
        raise SketchError(f"{metadata_file}: cannot read ({describe_os_error(error)})") from None
    except (ConfigError, UnicodeDecodeError, LookupError, TypeError, ValueError) as error:
        reason = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        raise SketchError(f"{metadata_file}: damaged, not as sketch download writes it ({reason})") from None

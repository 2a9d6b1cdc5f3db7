"""A dataset build's drawings as flat arrays: read without TensorFlow, a drawing gathered in
microseconds. Pure NumPy.

    <build>/flat/<split>.strokes.npy   float32 [points, 3]   every drawing of the split, end to end
    <build>/flat/<split>.offsets.npy   int64 [drawings + 1]  drawing i is strokes[offsets[i]:offsets[i + 1]]
    <build>/flat/<split>.labels.npy    int32 [drawings]      index into the build's categories
    <build>/flat/<split>.key_ids.npy   bytes [drawings]      each drawing's key_id, UTF-8

The dataset format of every build (TFDS files beside them only when asked for), written one
converted chunk in memory at a time; read memory-mapped, so the operating system pages in
what is gathered and nothing is held per drawing. TFDS's own TF-less decoding cost ~40 us a
record here; slicing a flat array costs ~2 us, and tf.data reads the same arrays through a
generator (pipeline.py, train.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SketchError
from .splits import SPLITS

FOLDER = "flat"
PARTS = ("strokes", "offsets", "labels", "key_ids")
REQUIRED = PARTS[:3]  # the builds of flat arrays made before key_ids were stored have none


def write(converted, build: Path) -> None:
    """Writes the flat arrays of every split of ``converted`` (a convert.Converted whose
    conversions are done) into ``build``/flat, labels numbered as ``converted.categories``."""
    out = Path(build) / FOLDER
    out.mkdir(parents=True)
    chunks = [
        (index, converted.folder / chunk)
        for index, category in enumerate(converted.categories)
        for chunk in converted.manifests[category]["chunks"]
    ]
    for split in SPLITS:
        _write_split(out, split, chunks)


def _write_split(out: Path, split: str, chunks: list[tuple[int, Path]]) -> None:
    sizes = []  # first pass: sizes only, so each file's header can say its full shape
    for _, path in chunks:
        with np.load(path) as shard:
            drawings, points = len(shard[f"{split}_offsets"]) - 1, int(shard[f"{split}_offsets"][-1])
            sizes.append((drawings, points, _utf8(shard[f"{split}_key_ids"]).itemsize))
    drawings, points = sum(n for n, _, _ in sizes), sum(p for _, p, _ in sizes)
    key_id_type = np.dtype(f"S{max([w for n, _, w in sizes if n] or [1])}")
    shapes = {
        "strokes": (np.float32, (points, 3)),
        "offsets": (np.int64, (drawings + 1,)),
        "labels": (np.int32, (drawings,)),
        "key_ids": (key_id_type, (drawings,)),
    }
    # Written in sequence through plain file handles, not memory maps: nothing of the split is
    # held in memory or mapped, whatever its size.
    with contextlib.ExitStack() as stack:
        files = {part: stack.enter_context(_npy_writer(out / f"{split}.{part}.npy", *shapes[part])) for part in PARTS}
        files["offsets"].write(np.zeros(1, np.int64).tobytes())
        point = 0
        for (label, path), (n, p, _) in zip(chunks, sizes):
            if n == 0:
                continue
            with np.load(path) as shard:
                files["strokes"].write(np.ascontiguousarray(shard[f"{split}_points"], np.float32).tobytes())
                files["offsets"].write((shard[f"{split}_offsets"][1:] + point).astype(np.int64).tobytes())
                files["key_ids"].write(_utf8(shard[f"{split}_key_ids"]).astype(key_id_type).tobytes())
            files["labels"].write(np.full(n, label, np.int32).tobytes())
            point += p


@contextlib.contextmanager
def _npy_writer(path: Path, dtype, shape: tuple[int, ...]):
    """A file handle placed after the .npy header of an array of ``shape``: the caller writes
    exactly its bytes, in order."""
    with path.open("wb") as handle:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)
        start = handle.tell()
        yield handle
        if handle.tell() - start != int(np.prod(shape)) * np.dtype(dtype).itemsize:
            raise RuntimeError(f"{path}: the bytes written do not match the array's shape {shape}")


def _utf8(texts: np.ndarray) -> np.ndarray:
    try:
        return texts.astype(np.bytes_)  # fast, ASCII only (Quick, Draw!'s numeric key_ids)
    except UnicodeEncodeError:
        return np.char.encode(texts, "utf-8")


def has_flat(build: Path) -> bool:
    return all((Path(build) / FOLDER / f"{split}.{part}.npy").is_file() for split in SPLITS for part in REQUIRED)


def examples(build: Path, split: str):
    """(key_id, label index, stroke-3) of every drawing of a split, in stored order; memory-mapped,
    so a split of any size streams."""
    folder = Path(build) / FOLDER
    strokes, offsets, labels, key_ids = (_load(folder / f"{split}.{part}.npy") for part in PARTS)
    for index in range(len(labels)):
        yield (
            bytes(key_ids[index]).decode(),
            int(labels[index]),
            np.asarray(strokes[offsets[index] : offsets[index + 1]]),
        )


@dataclass(frozen=True)
class FlatSplit:
    """One split, optionally only some categories (renumbered in the order given)."""

    strokes: np.ndarray  # [points, 3], memory-mapped
    starts: np.ndarray  # [drawings] first point of each kept drawing
    lengths: np.ndarray  # [drawings]
    labels: np.ndarray  # [drawings] in the order of the labels asked for

    @classmethod
    def open(cls, build: Path, split: str, names: tuple[str, ...], labels: tuple[str, ...] | None = None) -> FlatSplit:
        folder = Path(build) / FOLDER
        if not has_flat(build):
            raise SketchError(f"{build} has no flat arrays (built by an older sketch); run sketch download again")
        try:
            strokes = _load(folder / f"{split}.strokes.npy")
            offsets = np.load(folder / f"{split}.offsets.npy")
            stored = np.load(folder / f"{split}.labels.npy")
        except (OSError, ValueError) as error:
            raise SketchError(f"{folder}: damaged flat arrays ({error}); run sketch download again") from None
        table = label_table(names, labels, build)
        mapped = table[stored] if len(stored) else stored
        kept = np.flatnonzero(mapped >= 0)
        return cls(strokes, offsets[:-1][kept], np.diff(offsets)[kept], mapped[kept].astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def sequence(self, row: int, max_length: int) -> np.ndarray:
        start = self.starts[row]
        return np.asarray(self.strokes[start : start + min(self.lengths[row], max_length)])

    def sequences(self, rows, max_length: int) -> list[np.ndarray]:
        return [self.sequence(row, max_length) for row in rows]


def label_table(names: tuple[str, ...], labels: tuple[str, ...] | None, build: Path) -> np.ndarray:
    """Stored label index -> the index in ``labels`` (-1: left out); every one of ``labels``
    must be among the build's ``names``."""
    if labels is None or tuple(labels) == tuple(names):
        return np.arange(len(names))
    missing = [name for name in labels if name not in names]
    if missing:
        raise SketchError(f"categories not in the dataset at {build}: {', '.join(missing)}")
    table = np.full(len(names), -1, dtype=np.int64)
    table[[names.index(name) for name in labels]] = np.arange(len(labels))
    return table


def _load(path: Path) -> np.ndarray:
    """Memory-mapped, except an empty array (which cannot be)."""
    try:
        return np.load(path, mmap_mode="r")
    except ValueError:
        return np.load(path)


def offset_scale(split: FlatSplit, limit: int = 20000) -> float:
    """1 / std of dx, dy over (at most ``limit``) drawings: the train split only."""
    import math

    if len(split) == 0:
        raise SketchError("the train split is empty")
    offsets = np.concatenate([split.sequence(row, 10**9)[:, :2] for row in range(min(limit, len(split)))])
    std = float(np.std(offsets.astype(np.float64)))
    if not math.isfinite(std):
        raise SketchError("the train split's offsets are not finite numbers; rebuild the dataset with sketch download")
    return 1.0 / max(std, 1e-6)

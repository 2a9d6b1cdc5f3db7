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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SketchError
from .splits import SPLITS

FOLDER = "flat"
PARTS = ("strokes", "offsets", "labels", "key_ids")
REQUIRED = PARTS[:3]  # builds of sketch 0.9 have no key_ids


def write(converted, build: Path) -> None:
    """Writes the flat arrays of every split of ``converted`` (a convert.Converted whose
    conversions are done) into ``build``/flat, labels numbered as ``converted.categories``."""
    out = Path(build) / FOLDER
    out.mkdir(parents=True)
    chunks = [(index, converted.folder / chunk) for index, category in enumerate(converted.categories)
              for chunk in converted.manifests[category]["chunks"]]
    for split in SPLITS:
        _write_split(out, split, chunks)


def _write_split(out: Path, split: str, chunks: list[tuple[int, Path]]) -> None:
    sizes = []  # first pass: sizes only, so the files are made once at full size
    for _, path in chunks:
        with np.load(path) as shard:
            drawings, points = len(shard[f"{split}_offsets"]) - 1, int(shard[f"{split}_offsets"][-1])
            sizes.append((drawings, points, _utf8(shard[f"{split}_key_ids"]).itemsize))
    drawings, points = sum(n for n, _, _ in sizes), sum(p for _, p, _ in sizes)
    width = max([w for n, _, w in sizes if n] or [1])
    files = {part: out / f"{split}.{part}.npy" for part in PARTS}
    strokes = _array(files["strokes"], np.float32, (points, 3))
    offsets = _array(files["offsets"], np.int64, (drawings + 1,))
    labels = _array(files["labels"], np.int32, (drawings,))
    key_ids = _array(files["key_ids"], f"S{width}", (drawings,))
    offsets[0] = 0
    drawing, point = 0, 0
    for (label, path), (n, p, _) in zip(chunks, sizes):
        if n == 0:
            continue
        with np.load(path) as shard:
            strokes[point : point + p] = shard[f"{split}_points"]
            offsets[drawing + 1 : drawing + n + 1] = shard[f"{split}_offsets"][1:] + point
            key_ids[drawing : drawing + n] = _utf8(shard[f"{split}_key_ids"])
        labels[drawing : drawing + n] = label
        drawing, point = drawing + n, point + p
    for part, array in zip(PARTS, (strokes, offsets, labels, key_ids)):
        if isinstance(array, np.memmap):
            array.flush()
        else:  # an empty array: an empty file cannot be memory-mapped
            np.save(files[part], array)


def _utf8(texts: np.ndarray) -> np.ndarray:
    try:
        return texts.astype(np.bytes_)  # fast, ASCII only (Quick, Draw!'s numeric key_ids)
    except UnicodeEncodeError:
        return np.char.encode(texts, "utf-8")


def _array(path: Path, dtype, shape):
    """A writable array backed by its .npy file, or an in-memory empty one."""
    if np.prod(shape) == 0:
        return np.zeros(shape, dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def has_flat(build: Path) -> bool:
    return all((Path(build) / FOLDER / f"{split}.{part}.npy").is_file() for split in SPLITS for part in REQUIRED)


def examples(build: Path, split: str):
    """(key_id, label index, stroke-3) of every drawing of a split, in stored order."""
    folder = Path(build) / FOLDER
    strokes, offsets = _load(folder / f"{split}.strokes.npy"), np.load(folder / f"{split}.offsets.npy")
    labels, key_ids = np.load(folder / f"{split}.labels.npy"), np.load(folder / f"{split}.key_ids.npy")
    for index, (label, key_id) in enumerate(zip(labels.tolist(), key_ids.tolist())):
        yield key_id.decode(), label, np.asarray(strokes[offsets[index] : offsets[index + 1]])


@dataclass(frozen=True)
class FlatSplit:
    """One split, optionally only some categories (renumbered in the order given)."""

    strokes: np.ndarray  # [points, 3], memory-mapped
    starts: np.ndarray  # [drawings] first point of each kept drawing
    lengths: np.ndarray  # [drawings]
    labels: np.ndarray  # [drawings] in the order of the labels asked for

    @classmethod
    def open(cls, build: Path, split: str, names: tuple[str, ...], labels: tuple[str, ...] | None = None) -> "FlatSplit":
        folder = Path(build) / FOLDER
        if not has_flat(build):
            raise SketchError(f"{build} has no flat arrays (built by an older sketch); run sketch download again")
        try:
            strokes = _load(folder / f"{split}.strokes.npy")
            offsets = np.load(folder / f"{split}.offsets.npy")
            stored = np.load(folder / f"{split}.labels.npy")
        except (OSError, ValueError) as error:
            raise SketchError(f"{folder}: damaged flat arrays ({error}); run sketch download again") from None
        table = np.arange(len(names))
        if labels is not None and tuple(labels) != tuple(names):
            missing = [name for name in labels if name not in names]
            if missing:
                raise SketchError(f"categories not in the dataset at {build}: {', '.join(missing)}")
            table = np.full(len(names), -1)
            table[[names.index(name) for name in labels]] = np.arange(len(labels))
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

"""Training batches from flat arrays in NumPy, for every Keras backend (JAX must not need
TensorFlow; TensorFlow's fit reads the same stream). Knows no model.

Batches hold drawings of similar length padded to one of a few bounds (``BUCKETS`` of them),
so a compiling backend (XLA under JAX) compiles a handful of shapes; every batch is full, for
the same reason. The augmentation (rotation, per-axis stretch, a left-right mirror, dropped points
and strokes, back to the unit box) works on whole
batches, seeded per (seed, epoch, batch): the same seed gives
the same batches whatever order a loader's threads make them in.
"""

from __future__ import annotations

import math

import numpy as np

from ..data.flat import FlatSplit
from ..data.strokes import steps_after_stride

BUCKETS = 4  # distinct lengths a training batch is padded to under a compiling backend (XLA)
TRACED_BUCKETS = 8  # under TensorFlow, whose traces are cheap: less padding
LENGTH_STEP = 16  # every padded length is a multiple of this: few shapes, little padding


def padded_length(longest: int) -> int:
    """The length a batch whose longest drawing has ``longest`` points is padded to."""
    return int(-(-longest // LENGTH_STEP) * LENGTH_STEP)


def bucket_bounds(max_length: int, buckets: int = BUCKETS) -> np.ndarray:
    """Padded lengths of the buckets: ``buckets`` even steps up to max_length, multiples of LENGTH_STEP."""
    return np.unique([padded_length(math.ceil(max_length * (i + 1) / buckets)) for i in range(buckets)])


def bucket_of(lengths: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The bucket of each drawing: the first bound that holds it (longer ones are cut to the last)."""
    return np.searchsorted(bounds, np.minimum(lengths, bounds[-1]))


def balanced_rows(labels: np.ndarray, balance: float, among: np.ndarray | None = None) -> np.ndarray:
    """The drawings of an epoch, as rows of ``labels``: each category with fewer than ``balance``
    times the median category's count has its drawings repeated (a whole number of times) up to
    about that many, each repeat augmented anew. A few dozen drawings of your own words beside
    hundreds of each trained category would otherwise be a few percent of every epoch, and the
    model would learn that they are rare. 0: every drawing once. ``among``: the categories whose
    median sets the target (the official ones: many own words of a few drawings each would
    otherwise make the median one of them, and nothing would be repeated)."""
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    counts = np.bincount(labels) if len(labels) else np.zeros(0, np.int64)
    if not balance or not counts.any():
        return rows
    reference = counts if among is None or not counts[np.asarray(among, np.int64)].any() else counts[among]
    wanted = balance * np.median(reference[reference > 0])
    repeats = np.maximum(1, np.round(wanted / np.maximum(counts, 1))).astype(np.int64)
    return np.repeat(rows, repeats[labels])


class EpochPlan:
    """Which drawings go into which batch, epoch by epoch: each of ``pool``'s rows (default:
    every drawing once) once an epoch."""

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        max_length: int,
        seed: int,
        buckets: int = BUCKETS,
        pool: np.ndarray | None = None,
    ):
        self.pool = np.arange(len(lengths)) if pool is None else np.asarray(pool)
        self.bounds = bucket_bounds(max_length, buckets)
        self.bucket = bucket_of(np.asarray(lengths)[self.pool], self.bounds)
        self.batch_size, self.seed = batch_size, seed
        sizes = np.bincount(self.bucket, minlength=len(self.bounds))
        if sizes.max(initial=0) < batch_size:  # too few drawings for one full batch of any length
            self.bucket[:] = len(self.bounds) - 1
            sizes = np.bincount(self.bucket, minlength=len(self.bounds))
        self.batches_per_epoch = int(np.sum(sizes // batch_size)) or 1

    def batches(self, epoch: int) -> list[tuple[np.ndarray, int]]:
        """(rows, padded length) of every batch of ``epoch``, in a shuffled order. The rows
        left over in each bucket wait for the next epoch's shuffle."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.bucket))
        batches = []
        for index, bound in enumerate(self.bounds):
            rows = order[self.bucket[order] == index]
            if len(rows) < self.batch_size:
                continue
            batches += [
                (self.pool[rows[s : s + self.batch_size]], int(bound))
                for s in range(0, len(rows) - self.batch_size + 1, self.batch_size)
            ]
        if not batches:  # fewer drawings than one batch: one batch of all of them
            batches = [(self.pool[order], int(self.bounds[-1]))]
        return [batches[i] for i in rng.permutation(len(batches))]


def make_batch(
    split: FlatSplit, rows: np.ndarray, steps: int, max_length: int, rng: np.random.Generator | None = None
) -> tuple[dict, np.ndarray]:
    """({"strokes": [b, steps, 3], "length": [b]}, labels [b]); augmented when ``rng`` is given.
    Whole-batch array operations: no Python loop per drawing."""
    lengths = np.minimum(split.lengths[rows], min(max_length, steps)).astype(np.int32)
    real = np.arange(steps)[None, :] < lengths[:, None]
    index = np.where(real, split.starts[rows][:, None] + np.arange(steps)[None, :], 0)
    strokes = (
        np.asarray(split.strokes[index], dtype=np.float32)
        if len(split.strokes)
        else np.zeros((len(rows), steps, 3), np.float32)
    )
    strokes[~real] = 0
    if rng is not None:
        strokes, lengths = augment(strokes, lengths, rng)
    return {"strokes": strokes, "length": lengths}, split.labels[rows].astype(np.int32)


def augment(
    strokes: np.ndarray,
    lengths: np.ndarray,
    rng: np.random.Generator,
    rotation_degrees: float = 15.0,
    stretch: float = 0.2,
    drop_point: float = 0.1,
    drop_stroke: float = 0.05,
    mirror: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Over a padded batch, per drawing: a random rotation, per-axis stretch, left-right mirror
    (with probability ``mirror``: a cat faces either way, and the strokes then run the other
    way), dropped points and strokes, and the result back in the unit box. Returns (strokes,
    lengths)."""
    batch, steps = strokes.shape[:2]
    real = np.arange(steps)[None, :] < lengths[:, None]
    pen = strokes[..., 2]
    points = np.cumsum(strokes[..., :2], axis=1)
    keep = _kept_points(pen, real, rng, drop_point, drop_stroke)
    order = np.argsort(~keep, axis=1, kind="stable")  # the kept steps first, in their order
    points = np.take_along_axis(points, order[..., None], axis=1)
    pen = np.take_along_axis(pen, order, axis=1)
    lengths = keep.sum(axis=1).astype(np.int32)
    real = np.arange(steps)[None, :] < lengths[:, None]
    angle = rng.uniform(-1.0, 1.0, batch) * rotation_degrees * math.pi / 180
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)  # [b, 2, 2]
    scale = rng.uniform(1.0 - stretch, 1.0 + stretch, (batch, 1, 2))
    scale[:, 0, 0] *= np.where(rng.random(batch) < mirror, -1.0, 1.0)
    points = np.einsum("btj,bij->bti", points * scale, rotation)
    points -= np.where(real[..., None], points, np.inf).min(axis=1, keepdims=True)
    points /= np.maximum(np.where(real[..., None], points, -np.inf).max(axis=(1, 2), keepdims=True), 1e-6)
    offsets = np.diff(points, axis=1, prepend=np.zeros((batch, 1, 2)))
    augmented = np.concatenate([offsets, pen[..., None]], axis=-1) * real[..., None]
    return augmented.astype(np.float32), lengths


def _kept_points(pen, real, rng, drop_point: float, drop_stroke: float) -> np.ndarray:
    """[b, steps] which steps stay: non-final points of strokes and whole strokes are dropped,
    keeping at least one stroke and two points of every drawing."""
    batch, steps = pen.shape
    stroke_id = np.concatenate([np.zeros((batch, 1), np.int64), np.cumsum(pen[:, :-1] > 0.5, axis=1)], axis=1)
    strokes = np.where(real, stroke_id, -1).max(axis=1) + 1
    keep_stroke = rng.random((batch, steps)) >= drop_stroke  # one draw per (drawing, stroke)
    none_kept = ~(keep_stroke & (np.arange(steps)[None, :] < strokes[:, None])).any(axis=1)
    keep_stroke[none_kept] = True
    keep = np.take_along_axis(keep_stroke, stroke_id, axis=1)
    keep &= (rng.random((batch, steps)) >= drop_point) | (pen > 0.5)
    keep &= real
    too_few = keep.sum(axis=1) < 2
    keep[too_few] = real[too_few]
    return keep


def per_step_targets(labels: np.ndarray, lengths: np.ndarray, steps: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """For per-step training: the label at every output step, weighted 1 on real steps."""
    out_steps = int(steps_after_stride(steps, stride))
    real = np.asarray(steps_after_stride(lengths, stride))
    weights = (np.arange(out_steps)[None, :] < real[:, None]).astype(np.float32)
    return np.repeat(labels[:, None], out_steps, axis=1), weights


class Feed:
    """What fit reads: an endless stream of (inputs, targets, weights) batches from
    ``first_epoch`` on, made ahead by a pool of threads (NumPy releases the GIL in its copies).

    ``shard`` (index, count): this process's part of every batch, when ``count`` processes
    train in step. Every process plans the same epochs from the same seed and makes only its
    own rows of each batch, augmented from a seed of its own."""

    def __init__(
        self,
        split: FlatSplit,
        batch_size: int,
        max_length: int,
        seed: int,
        augment: bool,
        stride: int | None = None,
        start: int = 0,
        workers: int | None = None,
        buckets: int = BUCKETS,
        shard: tuple[int, int] = (0, 1),
        balance: float = 0.0,
        balance_among: np.ndarray | None = None,
    ):
        import os

        if batch_size < 1:  # 0 is TrainConfig's "auto": chosen before a Feed is made (schedule.auto_batch_size)
            raise ValueError(f"a Feed needs a batch size of at least 1, got {batch_size}")
        self.split, self.max_length, self.seed, self.augment = split, max_length, seed, augment
        self.stride, self.start = stride, start  # start: batches already trained on (a resumed run)
        self.shard = shard
        pool = balanced_rows(split.labels, balance, balance_among)
        self.plan = EpochPlan(split.lengths, batch_size, max_length, seed, buckets, pool)
        self.workers = workers or min(os.cpu_count() or 1, 8)

    def batch(self, epoch: int, index: int, rows: np.ndarray, steps: int) -> tuple[dict, np.ndarray, np.ndarray]:
        part, parts = self.shard
        seed = [self.seed, epoch, index] + ([part] if parts > 1 else [])
        rows = np.array_split(rows, parts)[part]
        rng = np.random.default_rng(seed) if self.augment else None
        inputs, labels = make_batch(self.split, rows, steps, self.max_length, rng)
        if self.stride:
            targets, weights = per_step_targets(labels, inputs["length"], steps, self.stride)
            return inputs, targets, weights
        return inputs, labels, np.ones(len(labels), dtype=np.float32)

    def stream(self):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as pool:
            pending = deque()
            epoch, skip = divmod(self.start, self.plan.batches_per_epoch)
            while True:
                for index, (rows, steps) in enumerate(self.plan.batches(epoch)):
                    if index < skip:
                        continue
                    pending.append(pool.submit(self.batch, epoch, index, rows, steps))
                    if len(pending) > 2 * self.workers:
                        yield pending.popleft().result()
                epoch, skip = epoch + 1, 0
                while len(pending) > 2 * self.workers:
                    yield pending.popleft().result()

    def one_batch_per_shape(self) -> list[tuple[dict, np.ndarray, np.ndarray]]:
        """A batch of each padded length the stream will make (to compile each shape first)."""
        epoch = self.start // self.plan.batches_per_epoch
        firsts: dict[int, tuple[int, np.ndarray]] = {}
        for index, (rows, steps) in enumerate(self.plan.batches(epoch)):
            firsts.setdefault(steps, (index, rows))
        return [self.batch(epoch, index, rows, steps) for steps, (index, rows) in sorted(firsts.items())]

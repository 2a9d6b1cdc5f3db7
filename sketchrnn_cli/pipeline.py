"""Training batches from flat arrays in NumPy: for Keras backends other than TensorFlow (JAX),
which must not need TensorFlow. Knows no model.

Batches hold drawings of similar length padded to one of a few bounds (``BUCKETS`` of them),
so a compiling backend (XLA under JAX) compiles a handful of shapes; every batch is full, for
the same reason. The augmentation is data.py's (rotation, per-axis stretch, dropped points and
strokes, back to the unit box) in NumPy, seeded per (seed, epoch, batch): the same seed gives
the same batches whatever order a loader's threads make them in.
"""

from __future__ import annotations

import math

import numpy as np

from .flat import FlatSplit
from .strokes import steps_after_stride

BUCKETS = 4  # distinct lengths a training batch is padded to
LENGTH_STEP = 16


def bucket_bounds(max_length: int, buckets: int = BUCKETS) -> np.ndarray:
    """Padded lengths of the buckets: ``buckets`` even steps up to max_length, multiples of 16."""
    bounds = [math.ceil(max_length * (i + 1) / buckets / LENGTH_STEP) * LENGTH_STEP for i in range(buckets)]
    return np.unique(bounds)


class EpochPlan:
    """Which drawings go into which batch, epoch by epoch."""

    def __init__(self, lengths: np.ndarray, batch_size: int, max_length: int, seed: int):
        self.bounds = bucket_bounds(max_length)
        self.bucket = np.searchsorted(self.bounds, np.minimum(lengths, max_length))
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
            batches += [(rows[s : s + self.batch_size], int(bound))
                        for s in range(0, len(rows) - self.batch_size + 1, self.batch_size)]
        if not batches:  # fewer drawings than one batch: one batch of all of them
            batches = [(order, int(self.bounds[-1]))]
        return [batches[i] for i in rng.permutation(len(batches))]


def make_batch(split: FlatSplit, rows: np.ndarray, steps: int, max_length: int,
               rng: np.random.Generator | None = None) -> tuple[dict, np.ndarray]:
    """({"strokes": [b, steps, 3], "length": [b]}, labels [b]); augmented when ``rng`` is given."""
    strokes = np.zeros((len(rows), steps, 3), dtype=np.float32)
    lengths = np.zeros(len(rows), dtype=np.int32)
    for index, row in enumerate(rows):
        sequence = split.sequence(row, min(max_length, steps))
        if rng is not None:
            sequence = augment(sequence, rng)
        strokes[index, : len(sequence)] = sequence
        lengths[index] = len(sequence)
    return {"strokes": strokes, "length": lengths}, split.labels[rows].astype(np.int32)


def augment(strokes: np.ndarray, rng: np.random.Generator, rotation_degrees: float = 15.0, stretch: float = 0.2,
            drop_point: float = 0.1, drop_stroke: float = 0.05) -> np.ndarray:
    """data.augment in NumPy: random rotation, per-axis stretch, dropped points and strokes;
    the result back in the unit box."""
    points = np.cumsum(strokes[:, :2], axis=0)
    pen = strokes[:, 2]
    keep = _kept_points(pen, rng, drop_point, drop_stroke)
    points, pen = points[keep], pen[keep]
    angle = rng.uniform(-1.0, 1.0) * rotation_degrees * math.pi / 180
    scale = rng.uniform(1.0 - stretch, 1.0 + stretch, size=2)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = (points * scale) @ rotation.T
    points -= points.min(axis=0)
    points /= max(points.max(), 1e-6)
    offsets = np.diff(points, axis=0, prepend=np.zeros((1, 2)))
    return np.column_stack([offsets, pen]).astype(np.float32)


def _kept_points(pen: np.ndarray, rng: np.random.Generator, drop_point: float, drop_stroke: float) -> np.ndarray:
    """Drops non-final points of strokes, and whole strokes, keeping at least one stroke and
    two points."""
    stroke_id = np.concatenate([[0], np.cumsum(pen[:-1] > 0.5)]).astype(np.int64)
    keep_stroke = rng.random(stroke_id[-1] + 1) >= drop_stroke
    if not keep_stroke.any():
        keep_stroke[:] = True
    keep = keep_stroke[stroke_id] & ((rng.random(len(pen)) >= drop_point) | (pen > 0.5))
    return keep if keep.sum() >= 2 else np.ones_like(keep)


def per_step_targets(labels: np.ndarray, lengths: np.ndarray, steps: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """For per-step training: the label at every output step, weighted 1 on real steps."""
    out_steps = int(steps_after_stride(steps, stride))
    real = np.asarray(steps_after_stride(lengths, stride))
    weights = (np.arange(out_steps)[None, :] < real[:, None]).astype(np.float32)
    return np.repeat(labels[:, None], out_steps, axis=1), weights


class Feed:
    """What fit reads: an endless stream of (inputs, targets, weights) batches from
    ``first_epoch`` on, made ahead by a pool of threads (NumPy releases the GIL in its copies)."""

    def __init__(self, split: FlatSplit, batch_size: int, max_length: int, seed: int, augment: bool,
                 stride: int | None = None, first_epoch: int = 0, workers: int | None = None):
        import os

        self.split, self.max_length, self.seed, self.augment = split, max_length, seed, augment
        self.stride, self.first_epoch = stride, first_epoch
        self.plan = EpochPlan(split.lengths, batch_size, max_length, seed)
        self.workers = workers or min(os.cpu_count() or 1, 8)

    def batch(self, epoch: int, index: int, rows: np.ndarray, steps: int) -> tuple[dict, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch, index]) if self.augment else None
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
            epoch = self.first_epoch
            while True:
                for index, (rows, steps) in enumerate(self.plan.batches(epoch)):
                    pending.append(pool.submit(self.batch, epoch, index, rows, steps))
                    if len(pending) > 2 * self.workers:
                        yield pending.popleft().result()
                epoch += 1
                while len(pending) > 2 * self.workers:
                    yield pending.popleft().result()

    def one_batch_per_shape(self) -> list[tuple[dict, np.ndarray, np.ndarray]]:
        """A batch of each padded length the stream will make (to compile each shape first)."""
        firsts = {}
        for index, (rows, steps) in enumerate(self.plan.batches(self.first_epoch)):
            firsts.setdefault(steps, (index, rows))
        return [self.batch(self.first_epoch, index, rows, steps) for steps, (index, rows) in sorted(firsts.items())]

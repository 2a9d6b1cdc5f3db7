"""tf.data wiring: read the TFDS dataset, augment, batch by length, prefetch. Knows no model.

Elements are ``({"strokes": [T, 3], "length": []}, label)``; batches are right-padded with zeros.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .devices import import_tensorflow
from .errors import SketchError
from .strokes import steps_after_stride

tf = import_tensorflow()

# Batches of similar lengths, padded to the bucket's bound: less padding, and few distinct
# shapes, so the training function is traced only a handful of times.
BUCKET_BOUNDARIES = (24, 32, 48, 64, 96, 128, 192)
PARALLEL_CALLS = 2  # augmentation workers; these machines have 2 to 16 cores
PREFETCH_BATCHES = 4


def load_split(path: Path, split: str, labels: tuple[str, ...] | None = None):
    """One split as a tf.data.Dataset of (inputs, label), optionally keeping only ``labels``
    (renumbered in that order)."""
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(path))
    names = builder.info.features["label"].names
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    if labels is not None and tuple(labels) != tuple(names):
        missing = [name for name in labels if name not in names]
        if missing:
            raise SketchError(f"categories not in the dataset at {path}: {', '.join(missing)}")
        table = np.full(len(names), -1, dtype=np.int64)
        for new, name in enumerate(labels):
            table[names.index(name)] = new
        remap = tf.constant(table)
        dataset = dataset.map(lambda e: {**e, "label": tf.gather(remap, e["label"])})
        dataset = dataset.filter(lambda e: e["label"] >= 0)
    return dataset.map(_to_pair)


def _to_pair(example):
    return {"strokes": example["strokes"], "length": tf.shape(example["strokes"])[0]}, example["label"]


def offset_scale(dataset, limit: int = 20000) -> float:
    """1 / std of dx, dy over (at most ``limit``) drawings of a split: the train split only."""
    total, total_sq, count = 0.0, 0.0, 0
    for inputs, _ in dataset.take(limit).as_numpy_iterator():
        offsets = inputs["strokes"][:, :2].astype(np.float64)
        total += offsets.sum()
        total_sq += (offsets**2).sum()
        count += offsets.size
    if count == 0:
        raise SketchError("the train split is empty")
    std = math.sqrt(max(total_sq / count - (total / count) ** 2, 1e-12))
    if not math.isfinite(std):
        raise SketchError("the train split's offsets are not finite numbers; rebuild the dataset with sketch download")
    return 1.0 / std


def batches(dataset, batch_size: int, max_length: int, *, shuffle_seed: int | None = None,
            augment_seed: int | None = None):
    """Caches, shuffles (when seeded), augments (when seeded), batches by length, prefetches."""
    dataset = dataset.cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10000, seed=shuffle_seed, reshuffle_each_iteration=True)
    if augment_seed is not None:
        # One stateless seed per element: the same seed and data give the same run.
        seeds = tf.data.Dataset.random(seed=augment_seed).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(_augment_pair, num_parallel_calls=PARALLEL_CALLS,
                                                         deterministic=True)
    boundaries = [b for b in BUCKET_BOUNDARIES if b <= max_length] + [max_length + 1]
    dataset = dataset.bucket_by_sequence_length(
        lambda inputs, label: inputs["length"],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=True,
    )
    return dataset.prefetch(PREFETCH_BATCHES).with_options(_options())


def _options():
    """Fixed parallelism instead of autotuning: TF 2.21's autotune thread can deadlock when
    an unfinished iterator is destroyed (seen at the end of an early-stopped fit)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return options


def _augment_pair(pair, seed):
    inputs, label = pair
    strokes = augment(inputs["strokes"], seed)
    return {"strokes": strokes, "length": tf.shape(strokes)[0]}, label


def augment(strokes, seed, rotation_degrees: float = 15.0, stretch: float = 0.2,
            drop_point: float = 0.1, drop_stroke: float = 0.05):
    """Random rotation, per-axis stretch, dropped points and strokes; result re-normalised
    to the unit box, like every parsed drawing."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
    points = tf.cumsum(strokes[:, :2], axis=0)
    pen = strokes[:, 2]
    keep = _kept_points(pen, seeds[0], seeds[1], drop_point, drop_stroke)
    points, pen = tf.boolean_mask(points, keep), tf.boolean_mask(pen, keep)
    angle = tf.random.stateless_uniform([], seeds[2], -1.0, 1.0) * rotation_degrees * math.pi / 180
    scale = tf.random.stateless_uniform([2], seeds[3], 1.0 - stretch, 1.0 + stretch)
    rotation = tf.stack([[tf.cos(angle), -tf.sin(angle)], [tf.sin(angle), tf.cos(angle)]])
    points = tf.linalg.matvec(rotation, points * scale)
    points -= tf.reduce_min(points, axis=0)
    points /= tf.maximum(tf.reduce_max(points), 1e-6)
    offsets = points - tf.concat([tf.zeros([1, 2]), points[:-1]], axis=0)
    return tf.concat([offsets, pen[:, None]], axis=1)


def _kept_points(pen, point_seed, stroke_seed, drop_point, drop_stroke):
    """Drops non-final points of strokes, and whole strokes, keeping at least one stroke."""
    stroke_id = tf.cast(tf.cumsum(pen, exclusive=True), tf.int32)
    strokes = tf.reduce_max(stroke_id) + 1
    keep_stroke = tf.random.stateless_uniform([strokes], stroke_seed) >= drop_stroke
    keep_stroke = tf.cond(tf.reduce_any(keep_stroke), lambda: keep_stroke, lambda: tf.ones_like(keep_stroke))
    keep_point = (tf.random.stateless_uniform(tf.shape(pen), point_seed) >= drop_point) | (pen > 0.5)
    keep = tf.gather(keep_stroke, stroke_id) & keep_point
    # Keep at least two points, or the drawing has no shape left.
    return tf.cond(tf.reduce_sum(tf.cast(keep, tf.int32)) >= 2, lambda: keep, lambda: tf.ones_like(keep))


def per_step_targets(stride: int):
    """For per-step training: the label at every output step, weighted 1 on real steps."""

    def expand(inputs, labels):
        steps = steps_after_stride(tf.shape(inputs["strokes"])[1], stride)
        real = steps_after_stride(inputs["length"], stride)
        weights = tf.cast(tf.sequence_mask(real, steps), tf.float32)
        return inputs, tf.tile(labels[:, None], [1, steps]), weights

    return expand

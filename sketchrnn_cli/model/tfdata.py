"""A build's splits as tf.data (from its flat arrays, or the TFDS files of builds older than
them), and length-bucketed batches for the benchmark's reference models. Knows no model.

Elements are ``({"strokes": [T, 3], "length": []}, label)``; batches are right-padded with zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backend import import_tensorflow
from ..data import flat

tf = import_tensorflow()

# Batches of similar lengths, padded to the bucket's bound: less padding, and few distinct
# shapes, so the training function is traced only a handful of times.
BUCKET_BOUNDARIES = (24, 32, 48, 64, 96, 128, 192)
PREFETCH_BATCHES = 4


def load_split(path: Path, split: str, labels: tuple[str, ...] | None = None):
    """One split as a tf.data.Dataset of (inputs, label), optionally keeping only ``labels``
    (renumbered in that order)."""
    if flat.has_flat(path):
        return _from_flat_arrays(path, split, labels)
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(path))
    names = builder.info.features["label"].names
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    if labels is not None and tuple(labels) != tuple(names):
        remap = tf.constant(flat.label_table(tuple(names), tuple(labels), path))
        dataset = dataset.map(lambda e: {**e, "label": tf.gather(remap, e["label"])})
        dataset = dataset.filter(lambda e: e["label"] >= 0)
    return dataset.map(_to_pair)


def _from_flat_arrays(path: Path, split: str, labels: tuple[str, ...] | None):
    from ..data.datastore import dataset_info

    drawings = flat.FlatSplit.open(path, split, dataset_info(path).labels, labels)

    def pairs():
        for row, label in enumerate(drawings.labels.tolist()):
            strokes = drawings.sequence(row, len(drawings.strokes))
            yield {"strokes": strokes, "length": np.int32(len(strokes))}, label

    signature = (
        {"strokes": tf.TensorSpec((None, 3), tf.float32), "length": tf.TensorSpec((), tf.int32)},
        tf.TensorSpec((), tf.int64),
    )
    return tf.data.Dataset.from_generator(pairs, output_signature=signature)


def _to_pair(example):
    return {"strokes": example["strokes"], "length": tf.shape(example["strokes"])[0]}, example["label"]


def batches(dataset, batch_size: int, max_length: int, *, shuffle_seed: int | None = None):
    """Caches, shuffles (when seeded), batches by length, prefetches: for the benchmark's
    reference models (sketch train reads flat arrays through pipeline.py)."""
    dataset = dataset.cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10000, seed=shuffle_seed, reshuffle_each_iteration=True)
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

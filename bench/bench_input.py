"""The training input pipeline alone (no model): drawings/s with and without augmentation.

    python bench/bench_input.py DATA_DIR --seconds 20 --json [--tf]
    -> {"augment_on": drawings/s, "augment_off": drawings/s, "peak_rss_mb": ...}

DATA_DIR is a data folder as `sketch download` makes it; its simplified build's flat arrays
feed pipeline.Feed exactly as `sketch train` builds it: batches of --batch-size, padded to the
bucket lengths, made by threads. Without TensorFlow (the JAX path: 4 lengths), or with --tf
through tf.data as `sketch train` reads it under TensorFlow (8 lengths, tensors out of
`Dataset.from_generator`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from sketchrnn_cli.config import DEFAULT_MAX_LENGTH
from sketchrnn_cli.data.datastore import dataset_dir, dataset_info
from sketchrnn_cli.data.flat import FlatSplit
from sketchrnn_cli.model.pipeline import Feed
from sketchrnn_cli.model.schedule import CPU_BATCH


def rate(split: FlatSplit, augment: bool, seconds: float, batch_size: int, workers: int, tf: bool) -> float:
    if tf:
        from sketchrnn_cli.model.pipeline import TRACED_BUCKETS
        from sketchrnn_cli.model.train import _tf_dataset

        feed = Feed(
            split, batch_size, DEFAULT_MAX_LENGTH, seed=0, augment=augment, workers=workers, buckets=TRACED_BUCKETS
        )
        stream = iter(_tf_dataset(feed, per_step=False))
    else:
        stream = Feed(split, batch_size, DEFAULT_MAX_LENGTH, seed=0, augment=augment, workers=workers).stream()
    next(stream)  # the pool is up
    drawings, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        drawings += len(next(stream)[1])
    return drawings / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=CPU_BATCH, help="what --batch-size auto takes on a CPU")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: as sketch train, cores up to 8)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tf", action="store_true", help="read the feed through tf.data, as under TensorFlow")
    args = parser.parse_args()
    build = dataset_dir(args.data_dir, "simplified")
    split = FlatSplit.open(build, "train", dataset_info(build).labels)
    workers = args.workers or min(os.cpu_count() or 1, 8)
    result = {
        "reader": "tf.data" if args.tf else "NumPy",
        "augment_on": round(rate(split, True, args.seconds, args.batch_size, workers, args.tf)),
        "augment_off": round(rate(split, False, args.seconds, args.batch_size, workers, args.tf)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "train_drawings": len(split),
        "batch_size": args.batch_size,
        "workers": workers,
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()

"""Conversion throughput of `sketch download`: local simplified ndjson -> finished TFDS dataset.

Pinned to one core. Reads ../shared/quickdraw (the 15 benchmark categories, 450 each), and
to measure a steady rate rather than start-up it converts COPIES copies of those files
(every copy's key_ids made unique) from a temporary local mirror.

    .venv/bin/python bench/bench_download.py [--copies 8]

Prints one JSON object: drawings, seconds, drawings per second, and the one-time start-up
(TensorFlow import) separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scale import CATEGORIES, SHARED, build_mirror  # the same mirror of the shared drawings

PER_COPY = 450 * len(CATEGORIES)  # one copy: every drawing of the 15 shared files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, inherited by TF's threads
    with tempfile.TemporaryDirectory() as tmp:
        drawings = args.copies * PER_COPY
        build_mirror(Path(tmp) / "mirror", drawings)
        started = time.perf_counter()
        from sketchrnn_cli.builder import write_dataset  # noqa: F401  (imports TensorFlow, TFDS)

        imported = time.perf_counter()
        from sketchrnn_cli.collect import CollectOptions
        from sketchrnn_cli.download import DownloadRequest, download

        request = DownloadRequest(CATEGORIES, Path(tmp) / "data", source=str(Path(tmp) / "mirror"),
                                  options=CollectOptions())
        summary = download(request)
        finished = time.perf_counter()
    converted = sum(sum(c.values()) for c in summary.collected.counts().values())
    assert converted == drawings, (converted, drawings)
    seconds = finished - imported
    print(json.dumps({
        "benchmark": "download conversion (local simplified ndjson -> TFDS dataset), 1 core",
        "drawings": drawings,
        "seconds": round(seconds, 2),
        "drawings_per_second": round(drawings / seconds),
        "startup_seconds_tensorflow_import": round(imported - started, 2),
        "drawings_per_second_including_startup": round(drawings / (finished - started)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
    }, indent=1))


if __name__ == "__main__":
    main()

"""`sketch download` of a small set: one core's conversion rate, and the whole command as the demo runs it.

1. Conversion throughput, the process pinned to one core: the 15 benchmark categories of
   ../shared/quickdraw (450 each), copied COPIES times with fresh key_ids into a temporary local
   mirror (a steady rate, not start-up), converted into a published dataset build.
2. The 15 x 450 download itself (`make download`'s command: `sketch download --source
   ../shared/quickdraw --categories <the 15> --max-per-class 450`, all cores), wall time of the
   whole process into a fresh data folder, the median of RUNS.

    .venv/bin/python bench/bench_download.py [--copies 8] [--runs 3] [--code REV]

--code REV also times (2) with the code of that commit, for a before-and-after.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scale import CATEGORIES, SHARED, build_mirror, code_at  # the same mirror of the shared drawings

PER_COPY = 450 * len(CATEGORIES)  # one copy: every drawing of the 15 shared files


def one_core_rate(copies: int) -> dict:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    try:
        with tempfile.TemporaryDirectory() as tmp:
            drawings = copies * PER_COPY
            build_mirror(Path(tmp) / "mirror", drawings)
            from sketchrnn_cli.data.download import DownloadRequest, download

            started = time.perf_counter()
            summary = download(DownloadRequest(CATEGORIES, Path(tmp) / "data", source=str(Path(tmp) / "mirror")))
            seconds = time.perf_counter() - started
    finally:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    converted = sum(sum(c.values()) for c in summary.converted.counts().values())
    assert converted == drawings, (converted, drawings)
    return {"drawings": drawings, "seconds": round(seconds, 2), "drawings_per_second": round(drawings / seconds)}


def small_download(runs: int, env: dict) -> dict:
    sketch = Path(sys.executable).with_name("sketch")
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            subprocess.run(
                [
                    str(sketch),
                    "download",
                    "--data-dir",
                    tmp,
                    "--source",
                    str(SHARED),
                    "--categories",
                    ",".join(CATEGORIES),
                    "--max-per-class",
                    "450",
                ],
                check=True,
                capture_output=True,
                env=env,
            )
            times.append(time.perf_counter() - started)
    return {"runs": [round(t, 2) for t in times], "median_seconds": round(statistics.median(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", metavar="REV", help="also time the 15 x 450 download with this commit's code")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    before = {}
    if args.code:
        with code_at(args.code) as (env, commit):
            before = {f"download_15x450_whole_command_at_{commit}": small_download(args.runs, env)}
    print(
        json.dumps(
            {
                "benchmark": "sketch download of a small set (local simplified ndjson -> published dataset build)",
                "conversion_one_core": one_core_rate(args.copies),
                "download_15x450_whole_command": small_download(args.runs, dict(os.environ)),
                **before,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                "commit": subprocess.run(
                    ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
                ).stdout.strip(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

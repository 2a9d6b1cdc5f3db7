"""A conversion worker's peak memory against the size of the one category it converts.

What a worker holds beyond its chunk of 20,000 drawings is the set of key_ids of its category
(to skip duplicates): this measures how that grows. For each size, a process of its own writes
one category file of DRAWINGS lines (the mirror's `cat` drawings repeated with fresh key_ids)
into a temporary folder, then converts it as a worker does (convert.convert_category) and
reports its peak resident memory.

    .venv/bin/python bench/bench_category_memory.py --drawings 100000 400000

Prints one JSON object per size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

from bench_scale import SHARED

ONE_SIZE = """
import json, resource, sys
from pathlib import Path
from sketchrnn_cli.data import convert
from sketchrnn_cli.data import sources
from sketchrnn_cli.data.collect import CollectOptions

drawings, root, shared = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
folder = root / "source/full/simplified"
folder.mkdir(parents=True)
with (shared / "full/simplified/cat.ndjson").open() as lines, (folder / "cat.ndjson").open("w") as out:
    rows = [json.loads(line) for line in lines]
    for index in range(drawings):
        row = rows[index % len(rows)]
        out.write(json.dumps({**row, "key_id": f"{row['key_id']}{index // len(rows):06d}"}) + "\\n")
del rows
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
job = convert.Job("cat", str(root / "source"), "simplified", root / "downloads", root / "converted",
                  CollectOptions(), sources.Network())
(root / "converted").mkdir()
manifest = convert.convert_category(job)
print(json.dumps({"drawings": sum(manifest["counts"].values()), "chunks": len(manifest["chunks"]),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "peak_before_converting_mb": round(before / 1024)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, nargs="+", default=[100_000, 400_000])
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    for drawings in args.drawings:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(
                [sys.executable, "-c", ONE_SIZE, str(drawings), tmp, str(SHARED)],
                capture_output=True,
                text=True,
                check=True,
            )
        print(
            json.dumps(
                {
                    "benchmark": "one conversion worker's peak memory by category size",
                    **json.loads(done.stdout),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "commit": commit,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""`sketch download` at scale: wall time, drawings/s and the peak memory of all its processes.

Builds a local mirror of DRAWINGS drawings in a temporary folder (the 15 benchmark categories
of ../shared/quickdraw, their real drawings repeated with fresh key_ids), then runs the real
command, `sketch download --workers W`, and samples the summed resident memory of the
process and its workers every 0.5 s (psutil, which tensorflow-datasets installs).

    .venv/bin/python bench/bench_scale.py --drawings 300000 2000000 --workers 2 1
    .venv/bin/python bench/bench_scale.py --drawings 300000 --workers 2 --flags=--tfds
    .venv/bin/python bench/bench_scale.py --drawings 300000 --workers 2 --code 2db9ea8   # an older commit's code
    .venv/bin/python bench/bench_scale.py --drawings 300000 --workers 1 --flags "--beam-runner DirectRunner
        --beam-option=--direct_num_workers=2 --beam-option=--direct_running_mode=multi_processing"

Prints one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

SHARED = Path(__file__).resolve().parents[2] / "shared" / "quickdraw"
CATEGORIES = (
    "airplane",
    "bicycle",
    "calculator",
    "camera",
    "cat",
    "computer",
    "crayon",
    "dragon",
    "eye",
    "guitar",
    "headphones",
    "map",
    "paint can",
    "paintbrush",
    "television",
)


def build_mirror(root: Path, drawings: int) -> None:
    """full/simplified/<category>.ndjson holding drawings / 15 lines each, real ones repeated."""
    folder = root / "full" / "simplified"
    folder.mkdir(parents=True)
    per_category = drawings // len(CATEGORIES)
    for category in CATEGORIES:
        rows = [json.loads(line) for line in (SHARED / "full/simplified" / f"{category}.ndjson").open()]
        with (folder / f"{category}.ndjson").open("w") as out:
            for index in range(per_category):
                row = rows[index % len(rows)]
                out.write(json.dumps({**row, "key_id": f"{row['key_id']}{index // len(rows):05d}"}) + "\n")


@contextmanager
def code_at(rev: str | None):
    """(environment, commit) to run `sketch` as it was at ``rev`` (a temporary git worktree put
    first on PYTHONPATH, in this environment), or as it is (the working tree at HEAD)."""

    def short(name: str) -> str:
        return subprocess.run(
            ["git", "rev-parse", "--short", name], capture_output=True, text=True, check=True
        ).stdout.strip()

    if not rev:
        yield dict(os.environ), short("HEAD")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], capture_output=True, check=True)
        try:
            yield {**os.environ, "PYTHONPATH": str(tree)}, short(rev)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], capture_output=True)


def run_download(mirror: Path, data: Path, workers: int, flags: list[str], env: dict) -> dict:
    sketch = Path(sys.executable).with_name("sketch")
    command = [
        str(sketch),
        "download",
        "--data-dir",
        str(data),
        "--source",
        str(mirror),
        "--workers",
        str(workers),
        "--categories",
        ",".join(CATEGORIES),
        *flags,
    ]
    errors = tempfile.TemporaryFile()  # not a pipe: a full pipe would stall the command
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
    peak = 0
    while process.poll() is None:  # sampled twice a second: scanning processes costs CPU too
        try:
            tree = [process, *process.children()]  # the workers are its children
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        errors.seek(0)
        raise SystemExit(errors.read().decode())
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, nargs="+", default=[300_000, 2_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    parser.add_argument("--tmp", type=Path, default=None, help="where to put the mirror (needs ~0.5 KB per drawing)")
    parser.add_argument("--flags", default="", help="more options for sketch download, e.g. --flags=--tfds")
    parser.add_argument("--code", metavar="REV", help="run sketch as it was at this commit")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    with code_at(args.code) as (env, commit):
        measure(args, env, commit)


def measure(args, env: dict, commit: str) -> None:
    for drawings in args.drawings:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            build_mirror(Path(tmp) / "mirror", drawings)
            for workers in args.workers:
                data = Path(tmp) / f"data-{workers}"
                result = run_download(Path(tmp) / "mirror", data, workers, shlex.split(args.flags), env)
                shutil.rmtree(data)
                total = drawings // len(CATEGORIES) * len(CATEGORIES)
                print(
                    json.dumps(
                        {
                            "benchmark": "sketch download, local simplified ndjson -> published dataset (whole process)",
                            "drawings": total,
                            "workers": workers,
                            "flags": args.flags,
                            **result,
                            "drawings_per_second": round(total / result["seconds"]),
                            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                            "commit": commit,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""Prediction and evaluation speed, and memory on large inputs, of a trained run.

    .venv/bin/python bench/bench_predict.py RUN_DIR [--data-dir DATA]

* `sketch predict` of one drawing as a whole process (start-up included): wall time and
  peak memory, LiteRT path against the TensorFlow path, best of 5 runs each.
* `sketch evaluate` throughput (drawings per second; batched TensorFlow, and LiteRT) on the
  test split, and on all of the run's categories in ../shared/quickdraw (a steady state).
* `sketch predict --json` on a 100 MB ndjson file (100 drawings of 100,000 points each):
  peak memory against a 10 MB file of the same kind, to show it streams.

Prints one JSON object.
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

import numpy as np

SKETCH = [sys.executable, "-m", "sketchrnn_cli.cli"]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "quickdraw" / "full" / "simplified"
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)


def measure(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MB) of one process running ``args``."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, check=True)
    seconds, kilobytes, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(args)} failed with exit code {code}")
    return float(seconds), int(kilobytes) / 1024


def best_of(args: list[str], runs: int = 5) -> dict:
    results = [measure(args) for _ in range(runs)]
    return {"wall_seconds": round(min(r[0] for r in results), 3), "peak_mb": round(min(r[1] for r in results), 1)}


def one_drawing_file(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 2 * np.pi, 30)
    drawing = [
        [(128 + 100 * np.cos(t)).astype(int).tolist(), (128 + 100 * np.sin(t)).astype(int).tolist()],
        [rng.integers(0, 255, 10).tolist(), rng.integers(0, 255, 10).tolist()],
    ]
    path = folder / "one.ndjson"
    path.write_text(json.dumps({"word": "cat", "key_id": "1", "drawing": drawing}) + "\n")
    return path


def big_file(folder: Path, megabytes: int) -> Path:
    """Lines of 100,000-point drawings (~1 MB each) up to the given size."""
    rng = np.random.default_rng(1)
    xs = rng.integers(0, 255, 100_000).tolist()
    line = json.dumps({"word": "cat", "key_id": "1", "drawing": [[xs, xs[::-1]]]}) + "\n"
    path = folder / f"big-{megabytes}mb.ndjson"
    with path.open("w") as out:
        for _ in range(max(1, megabytes * 2**20 // len(line))):
            out.write(line)
    return path


def evaluate_speed(command: list[str]) -> dict:
    started = time.perf_counter()
    report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    return {
        "drawings": report["count"],
        "drawings_per_second_model": round(report["drawings_per_second"]),
        "whole_command_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args()
    result = {"run": str(args.run_dir)}
    with tempfile.TemporaryDirectory() as tmp:
        one = one_drawing_file(Path(tmp))
        base = [*SKETCH, "predict", "--model", str(args.run_dir), str(one)]
        result["predict_one_litert"] = best_of([*base, "--backend", "litert"])
        result["predict_one_tensorflow"] = best_of([*base, "--backend", "tensorflow"])
        result["litert_speedup"] = round(
            result["predict_one_tensorflow"]["wall_seconds"] / result["predict_one_litert"]["wall_seconds"], 1
        )
        for megabytes in (10, 100):
            path = big_file(Path(tmp), megabytes)
            seconds, peak = measure([*SKETCH, "predict", "--model", str(args.run_dir), "--json", str(path)])
            result[f"predict_{megabytes}mb_file"] = {
                "bytes": path.stat().st_size,
                "wall_seconds": round(seconds, 1),
                "peak_mb": round(peak, 1),
            }
            path.unlink()
    # Both backends: batched TensorFlow, and LiteRT (one drawing a call, but no graph to build).
    test_split = [*SKETCH, "evaluate", str(args.run_dir), "--data-dir", str(args.data_dir), "--json"]
    # Steady state: every drawing of the run's categories in ../shared (train ones too, so
    # its accuracy means nothing here; only the speed is read).
    files = [SHARED / f"{label}.ndjson" for label in (args.run_dir / "labels.txt").read_text().split("\n") if label]
    shared = [*SKETCH, "evaluate", str(args.run_dir), "--json", *[arg for f in files for arg in ("--data", str(f))]]
    for backend in ("tensorflow", "litert"):
        result[f"evaluate_test_split_{backend}"] = evaluate_speed([*test_split, "--backend", backend])
        if all(f.is_file() for f in files):
            result[f"evaluate_shared_files_{backend}"] = evaluate_speed([*shared, "--backend", backend])
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""Peak memory of `sketch train` on a large dataset (the flat arrays are memory-mapped, so it
should not grow with the dataset).

    python bench/bench_train_scale.py DATA_DIR --minutes 2 [--size default] --json
    -> {"train_drawings": ..., "peak_rss_mb": ..., "drawings_per_second": ..., "epochs": ...}

DATA_DIR is a data folder as `sketch download` makes it (bench_scale.py's mirror builder makes
big ones from ../shared/quickdraw). Peak RSS is sampled twice a second over the process tree.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--size", default="default", help="sketch train --size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        command = [
            sys.executable,
            "-m",
            "sketchrnn_cli.cli",
            "train",
            "--data-dir",
            str(args.data_dir),
            "--run-dir",
            str(run),
            "--max-minutes",
            str(args.minutes),
            "--size",
            args.size,
        ]
        errors = tempfile.TemporaryFile()  # not a pipe: a full pipe would stall the command
        process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.5)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(errors.read().decode())
        summary = json.loads((run / "summary.json").read_text())
        config = json.loads((run / "config.json").read_text())
    from sketchrnn_cli.data.datastore import dataset_dir, dataset_info

    result = {
        "size": args.size,
        "train_drawings": dataset_info(dataset_dir(args.data_dir, "simplified")).count("train"),
        "peak_rss_mb": round(peak / 2**20),
        "drawings_per_second": round(summary["drawings_per_second"]),
        "epochs": summary["epochs_run"],
        "stopped": summary["stopped"],
        "augment": config["train"]["augment"],
        "seconds": round(summary["seconds"]),
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()

"""Every model size (`sketch train --size`): parameters, training speed and accuracy in the same
10 CPU-minutes as bench_train.py, and `sketch predict` of one drawing on LiteRT.

    .venv/bin/python bench/bench_sizes.py [--minutes 10] [--size NAME]... [--scale-drawings N [--scale-size NAME]...]

Each size trains on bench_train.py's 15 categories x 450 drawings for --minutes, its weights
chosen on the valid split, and is scored once on the test split. --scale-drawings N also builds
an N-drawing data folder from the mirror in a temporary folder (bench_scale.py's builder: real
drawings repeated with fresh key_ids) and measures the peak memory of training each size there
for 2 minutes, through bench_train_scale.py (--scale-size: these sizes there, default: the
--size ones; a size given only there keeps its other figures from sizes.json).

Writes bench/results/sizes.json and prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_predict import SKETCH, best_of, one_drawing_file  # noqa: E402
from bench_train import RESULTS, SHARED, prepare_data  # noqa: E402

from sketchrnn_cli.config import SIZES, ModelConfig, RunConfig, TrainConfig  # noqa: E402
from sketchrnn_cli.model.model import build_model  # noqa: E402


def size_row(size: str, dataset: Path, minutes: float, seed: int) -> dict:
    from sketchrnn_cli.model.train import train
    from sketchrnn_cli.use.evaluate import evaluate_split

    run = RESULTS / "runs" / f"size-{size}"
    shutil.rmtree(run, ignore_errors=True)
    config = RunConfig(model=ModelConfig.sized(size), train=TrainConfig(max_minutes=minutes, seed=seed))
    result = train(config, dataset, run, on_epoch=lambda r: print(f"  epoch {r.epoch}: valid {r.val_accuracy:.3f}"))
    test = evaluate_split(run, RESULTS / "data", "test").report
    with tempfile.TemporaryDirectory() as tmp:
        one = one_drawing_file(Path(tmp))
        predict = best_of([*SKETCH, "predict", "--model", str(run), "--backend", "litert", str(one)])
    return {
        "size": size,
        "parameters_15": result.parameters,
        "parameters_345": build_model(ModelConfig.sized(size), 345).count_params(),
        "train_drawings_per_second": round(result.drawings_per_second),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped": result.stopped,
        "best_valid_top1": result.best_val_accuracy,
        "top1": test["top1"],
        "map3": test["map3"],
        "ece": test["ece"],
        "predict_one_litert_seconds": predict["wall_seconds"],
        "predict_one_litert_peak_mb": predict["peak_mb"],
        "tflite_mb": round((run / "model.tflite").stat().st_size / 2**20, 1),
    }


def scale_memory(size: str, data_dir: Path) -> dict:
    command = [sys.executable, str(HERE / "bench_train_scale.py"), str(data_dir), "--size", size, "--json"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| size | parameters (15 / 345 categories) | train drawings/s | epochs (best) | test top-1 | MAP@3 | "
        "ECE | predict one (LiteRT) | model.tflite | peak RSS, 2M drawings |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        scale = row.get("scale")
        memory = f"{scale['peak_rss_mb']:,} MB ({scale['drawings_per_second']:,}/s)" if scale else "not measured"
        if "top1" not in row:  # measured at scale only
            lines.append(f"| {row['size']} | | | | | | | | | {memory} |")
            continue
        lines.append(
            f"| {row['size']} | {row['parameters_15']:,} / {row['parameters_345']:,} | "
            f"{row['train_drawings_per_second']:,} | {row['epochs']} ({row['best_epoch']}) | {row['top1']:.1%} | "
            f"{row['map3']:.3f} | {row['ece']:.3f} | {row['predict_one_litert_seconds']:.2f} s | "
            f"{row['tflite_mb']} MB | {memory} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", action="append", choices=tuple(SIZES), help="Only this size (repeatable).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale-drawings", type=int, default=0, help="Also the peak memory on this many drawings.")
    parser.add_argument("--scale-size", action="append", choices=tuple(SIZES), help="Sizes to measure at scale.")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    dataset = prepare_data()
    with tempfile.TemporaryDirectory() as tmp:
        scale_data = big_data(Path(tmp), args.scale_drawings) if args.scale_drawings else None
        measure_sizes(args, dataset, scale_data)


def big_data(tmp: Path, drawings: int) -> Path:
    from bench_scale import CATEGORIES, build_mirror

    build_mirror(tmp / "mirror", drawings)
    command = [*SKETCH, "download", "--source", str(tmp / "mirror"), "--data-dir", str(tmp / "data")]
    subprocess.run([*command, "--categories", ",".join(CATEGORIES)], check=True, capture_output=True)
    return tmp / "data"


def measure_sizes(args, dataset: Path, scale_data: Path | None) -> None:
    out = RESULTS / "sizes.json"
    rows = {row["size"]: row for row in (json.loads(out.read_text())["rows"] if out.is_file() else [])}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    sizes = args.size or list(SIZES)
    at_scale = (args.scale_size or sizes) if scale_data is not None else []
    for size in [*sizes, *(name for name in at_scale if name not in sizes)]:
        print(size, flush=True)
        row = rows.get(size, {"size": size})
        if size in sizes:
            row = {**size_row(size, dataset, args.minutes, args.seed), "commit": commit.stdout.strip()}
        if size in at_scale:
            row["scale"] = {**scale_memory(size, scale_data), "commit": commit.stdout.strip()}
        rows[size] = row
        result = {
            "benchmark": f"15 categories x 450 drawings from ../shared/quickdraw, {args.minutes:g} min of CPU each",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "rows": [rows[name] for name in SIZES if name in rows],
        }
        out.write_text(json.dumps(result, indent=1))  # after every size: a crash loses only the current one
    print(markdown(result["rows"]))


if __name__ == "__main__":
    main()

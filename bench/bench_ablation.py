"""Tuning the default configuration on the VALID split (the test split is never looked at).

Trains each variant below for --minutes on the 15 benchmark categories (450 drawings each,
from ../shared/quickdraw) and prints its best valid top-1 and MAP@3, and the mean valid
top-1 of its last five epochs.

    .venv/bin/python bench/bench_ablation.py [--minutes 10] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_train import RESULTS, prepare_data  # noqa: E402

from sketchrnn_cli.artifacts import RunFiles  # noqa: E402
from sketchrnn_cli.config import ModelConfig, RunConfig, TrainConfig  # noqa: E402

# Weight averaging and mid-schedule patience were measured with this script at commit b6c4ebf.
DEFAULT = ModelConfig()
VARIANTS = {
    "batch norm, offsets only, pooled loss": dict(
        conv_norm="batch", positions=False, per_step_loss=False, image_side=0
    ),
    "layer norm, + positions, pooled loss": dict(conv_norm="layer", positions=True, per_step_loss=False, image_side=0),
    "layer norm, + positions, per-step loss": dict(conv_norm="layer", positions=True, per_step_loss=True, image_side=0),
    "layer norm, + positions, per-step loss, + image": dict(
        conv_norm="layer", positions=True, per_step_loss=True, image_side=28
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS))
    args = parser.parse_args()
    from sketchrnn_cli.model.train import train
    from sketchrnn_cli.use.evaluate import evaluate_split

    dataset = prepare_data()
    rows = []
    for name in args.only or VARIANTS:
        run_dir = RESULTS / "ablation" / name.replace(" ", "_").replace(",", "").replace(".", "")
        shutil.rmtree(run_dir, ignore_errors=True)
        config = RunConfig(
            model=dataclasses.replace(DEFAULT, **VARIANTS[name]),
            train=TrainConfig(max_minutes=args.minutes, patience=100),
        )
        result = train(config, dataset, run_dir)
        report = evaluate_split(run_dir, RESULTS / "data", "valid").report
        # The best epoch's valid score is the maximum of noisy numbers, biased upwards (more so for
        # noisier curves); the mean of the last five epochs is not selected, so compare both.
        history = json.loads(RunFiles(run_dir).history.read_text())
        last5 = sum(epoch["val_accuracy"] for epoch in history[-5:]) / len(history[-5:])
        rows.append(
            {
                "variant": name,
                "valid_top1": report["top1"],
                "valid_map3": report["map3"],
                "valid_top1_last5": round(last5, 4),
                "epochs": result.epochs_run,
                "best_epoch": result.best_epoch,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        with open(RESULTS / "ablation.jsonl", "a") as log:
            log.write(json.dumps(rows[-1]) + "\n")


if __name__ == "__main__":
    main()

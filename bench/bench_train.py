"""Accuracy under a CPU time budget: our default configuration against three published models.

Downloads the 15 benchmark categories (450 drawings each) from ../shared/quickdraw, trains
`sketch train`'s default configuration for --minutes (default 10), then each reference of
references.py for the same minutes on the same data, choosing every model's epoch on the
valid split, and scores all of them once on the test split.

    .venv/bin/python bench/bench_train.py [--minutes 10] [--only default|references] [--reference NAME] [--seed N]

Writes bench/results/train.json and prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sketchrnn_cli.backend import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SHARED = HERE.parents[1] / "shared" / "quickdraw"
RESULTS = HERE / "results"
DEFAULT_RUN = RESULTS / "runs" / "default"
DEFAULT_NAME = "sketch train default"  # its row's name goes on to say what the default is
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


def prepare_data() -> Path:
    from sketchrnn_cli.data.collect import CollectOptions
    from sketchrnn_cli.data.download import DownloadRequest, download

    request = DownloadRequest(
        CATEGORIES, RESULTS / "data", source=str(SHARED), options=CollectOptions(max_per_class=450)
    )
    return download(request).dataset_dir


def run_default(dataset: Path, minutes: float, seed: int = 0) -> dict:
    from sketchrnn_cli.config import RunConfig, TrainConfig
    from sketchrnn_cli.model.train import train

    shutil.rmtree(DEFAULT_RUN, ignore_errors=True)
    train(
        RunConfig(train=TrainConfig(max_minutes=minutes, seed=seed)),
        dataset,
        DEFAULT_RUN,
        on_epoch=lambda r: print(f"  epoch {r.epoch}: valid {r.val_accuracy:.3f}", flush=True),
    )
    return default_row()


def default_row() -> dict:
    """The default run's row: its summary, and its one look at the test split."""
    from sketchrnn_cli.artifacts import RunFiles, read_config
    from sketchrnn_cli.metrics import calibrated, ece, nll
    from sketchrnn_cli.use.evaluate import evaluate_split

    files = RunFiles(DEFAULT_RUN)
    summary = json.loads(files.summary.read_text())
    scored = evaluate_split(DEFAULT_RUN, RESULTS / "data", "test")
    report = scored.report
    model = read_config(files).model
    # The same test probabilities before the temperature: p is proportional to q^T.
    raw = calibrated(scored.probabilities, 1 / model.temperature)
    valid = evaluate_split(DEFAULT_RUN, RESULTS / "data", "valid").report
    image = f", + {model.image_side}x{model.image_side} image" if model.image_side else ""
    loss = "per-step" if model.per_step_loss else "pooled"
    seed = read_config(files).train.seed
    seeded = f", seed {seed}" if seed else ""
    return {
        "model": f"{DEFAULT_NAME} ({model.arch}, {loss} loss{image}{seeded})",
        "top1": report["top1"],
        "top3": report["top3"],
        "map3": report["map3"],
        "test_drawings": report["count"],
        "parameters": summary["parameters"],
        "epochs": summary["epochs_run"],
        "train_drawings_per_second": round(summary["drawings_per_second"]),
        "best_valid_top1": summary["best_val_accuracy"],
        "best_epoch": summary["best_epoch"],
        "temperature": model.temperature,
        "test_ece": report["ece"],
        "test_ece_interval": report["ece_interval"],
        "test_nll": report["nll"],
        "test_ece_before_temperature": ece(raw, scored.labels),
        "test_nll_before_temperature": nll(raw, scored.labels),
        "valid_ece": valid["ece"],
        "seed": seed,
        "test_shown_100_percent": int((scored.probabilities.max(axis=1) >= 0.9995).sum()),
    }


def run_reference(name: str, dataset: Path, minutes: float) -> dict:
    from references import REFERENCES, rasterize, tutorial_features

    from sketchrnn_cli import metrics
    from sketchrnn_cli.data.datastore import dataset_info
    from sketchrnn_cli.model import tfdata

    build, kind, batch_size = REFERENCES[name]
    keras.utils.set_random_seed(0)
    labels = dataset_info(dataset).labels
    splits = {s: list(tfdata.load_split(dataset, s).as_numpy_iterator()) for s in ("train", "valid", "test")}

    def inputs(split):
        y = np.array([label for _, label in splits[split]])
        if kind == "raster":
            return np.stack([rasterize(x["strokes"]) for x, _ in splits[split]]), y
        features = [tutorial_features(x["strokes"]) for x, _ in splits[split]]
        return features, y

    def batches(split, shuffle):
        x, y = inputs(split)
        if kind == "raster":
            dataset_ = tf.data.Dataset.from_tensor_slices((x, y))
            if shuffle:
                dataset_ = dataset_.shuffle(len(y), seed=0)
            return dataset_.batch(batch_size).prefetch(2), len(y)
        generator = tf.data.Dataset.from_generator(
            lambda: (({"strokes": f, "length": len(f)}, label) for f, label in zip(x, y)),
            output_signature=(
                {"strokes": tf.TensorSpec((None, 3), tf.float32), "length": tf.TensorSpec((), tf.int32)},
                tf.TensorSpec((), tf.int64),
            ),
        )
        return tfdata.batches(generator, batch_size, 250, shuffle_seed=0 if shuffle else None), len(y)

    train_batches, train_size = batches("train", True)
    valid_batches, _ = batches("valid", False)
    model = build(len(labels))
    budget = BudgetAndBest(minutes)
    started = time.monotonic()
    model.fit(train_batches, validation_data=valid_batches, epochs=10_000, callbacks=[budget], verbose=0)
    seconds = time.monotonic() - started
    model.set_weights(budget.best_weights)
    # The test split goes through the same batching as valid: the unmasked HOML model's
    # answers depend on how much padding follows a drawing.
    test_batches, _ = batches("test", False)
    probabilities, test_y = [], []
    for batch_inputs, batch_labels in test_batches:
        probabilities.append(model.predict_on_batch(batch_inputs))
        test_y.append(batch_labels.numpy())
    probabilities, test_y = np.concatenate(probabilities), np.concatenate(test_y)
    report = metrics.report(probabilities, test_y, list(labels))
    return {
        "model": name,
        "top1": report["top1"],
        "top3": report["top3"],
        "map3": report["map3"],
        "test_drawings": report["count"],
        "parameters": int(model.count_params()),
        "epochs": budget.epochs,
        "train_drawings_per_second": round(train_size * budget.epochs / seconds),
        "best_valid_top1": budget.best,
    }


class BudgetAndBest(keras.callbacks.Callback):
    """Stops after the epoch that crosses the budget; remembers the best valid epoch's weights."""

    def __init__(self, minutes: float):
        super().__init__()
        self.deadline = time.monotonic() + 60 * minutes
        self.best, self.best_weights, self.epochs = -1.0, None, 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        print(f"  epoch {self.epochs}: valid {logs['val_accuracy']:.3f}", flush=True)
        if logs["val_accuracy"] > self.best:
            self.best, self.best_weights = logs["val_accuracy"], self.model.get_weights()
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True


def row_key(row: dict) -> str:
    """One row per reference, and one per seed for the default whatever it is now (not one per
    version)."""
    if row["model"].startswith(DEFAULT_NAME):
        return f"{DEFAULT_NAME}, seed {row.get('seed', 0)}"
    return row["model"]


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | test top-1 | test top-3 | MAP@3 | parameters | epochs | train drawings/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['top1']:.1%} | {row['top3']:.1%} | {row['map3']:.3f} | "
            f"{row['parameters']:,} | {row['epochs']} | {row['train_drawings_per_second']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", choices=["default", "references"])
    parser.add_argument("--reference", action="append", help="Only this reference (repeatable).")
    parser.add_argument("--seed", type=int, default=0, help="The default configuration's seed (its own row).")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is not here; this benchmark needs the shared Quick, Draw! mirror")
    dataset = prepare_data()
    out = RESULTS / "train.json"
    previous = json.loads(out.read_text()) if out.is_file() else {}
    rows = {row_key(row): row for row in previous.get("rows", [])}

    def save(row: dict) -> dict:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
        rows[row_key(row)] = {**row, "commit": commit}
        result = {
            "benchmark": f"15 categories x 450 drawings from ../shared/quickdraw, {args.minutes:g} min of CPU each",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "rows": list(rows.values()),
        }
        out.write_text(json.dumps(result, indent=1))  # after every model: a crash loses only the current one
        return result

    if args.only != "references":
        print("default configuration", flush=True)
        result = save(run_default(dataset, args.minutes, args.seed))
    elif DEFAULT_RUN.is_dir():
        result = save(default_row())
    if args.only != "default":
        from references import REFERENCES

        for name in args.reference or REFERENCES:
            print(name, flush=True)
            result = save(run_reference(name, dataset, args.minutes))
    print(markdown(result["rows"]))


if __name__ == "__main__":
    main()

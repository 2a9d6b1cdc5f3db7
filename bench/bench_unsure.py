"""How often a model says it is not sure (issue 29): on the test split of its own categories,
and on drawings of categories it does not know (every simplified drawing of ../shared/quickdraw
whose category the run was not trained on).

The threshold is the run's own (config.json's model.unsure_below, chosen on its calibrated
valid split when training ended); for a run trained before it was recorded, the same rule
(metrics.unsure_threshold) is applied to its valid split here. A plain 0.6 on the top
probability is shown beside it.

    .venv/bin/python bench/bench_unsure.py RUN --data-dir DATA [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import sketchrnn_cli as sketch
from sketchrnn_cli.data import datastore, flat
from sketchrnn_cli.data.reader import Drawing, read_file
from sketchrnn_cli.metrics import unsure_threshold

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "quickdraw" / "full" / "simplified"


def split_probabilities(model: sketch.Classifier, data_dir: Path, split: str) -> np.ndarray:
    build = datastore.dataset_dir(data_dir, model.config.data.format)
    drawings = flat.FlatSplit.open(build, split, datastore.dataset_info(build).labels, model.labels)
    return model.engine.predict(drawings.sequences(range(len(drawings)), model.config.data.max_length))


def unknown_drawings(model: sketch.Classifier) -> tuple[list[np.ndarray], int]:
    """The mirror's drawings of every category the model does not know, and how many categories."""
    sequences, categories = [], 0
    for path in sorted(MIRROR.glob("*.ndjson")):
        if path.stem in model.labels:
            continue
        categories += 1
        with path.open("rb") as handle:
            sequences += [
                r.sequence for r in read_file(handle, str(path), model.config.data.max_length) if isinstance(r, Drawing)
            ]
    return sequences, categories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = sketch.load(args.run, backend=args.backend)
    threshold, recorded = model.config.model.unsure_below, True
    if threshold == 0.0:
        threshold, recorded = unsure_threshold(split_probabilities(model, args.data_dir, "valid")), False
    own = split_probabilities(model, args.data_dir, "test").max(axis=1)
    sequences, categories = unknown_drawings(model)
    unknown = model.engine.predict(sequences).max(axis=1)
    figures = {
        "threshold": threshold,
        "threshold_recorded_by_training": recorded,
        "own_test_drawings": int(len(own)),
        "own_flagged": float(np.mean(own < threshold)),
        "unknown_categories": categories,
        "unknown_drawings": int(len(unknown)),
        "unknown_flagged": float(np.mean(unknown < threshold)),
        "plain_0_6_own_flagged": float(np.mean(own < 0.6)),
        "plain_0_6_unknown_flagged": float(np.mean(unknown < 0.6)),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:32} {value:.4f}" if isinstance(value, float) else f"{key:32} {value}")


if __name__ == "__main__":
    main()

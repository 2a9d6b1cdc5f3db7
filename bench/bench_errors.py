"""Where a trained run's errors are: on drawings the game recognised, or on the ones it did not.

    .venv/bin/python bench/bench_errors.py RUN --data-dir DATA [--split valid]

Scores RUN on a split of its dataset (as `sketch evaluate` does) and looks up each drawing's
`recognized` flag in ../shared/quickdraw by key_id (the flat arrays do not keep the flag).
Prints one JSON object: accuracy on each kind of drawing, and the most common confusions.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from sketchrnn_cli.data import datastore
from sketchrnn_cli.data.flat import FOLDER
from sketchrnn_cli.use.evaluate import evaluate_split

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "quickdraw" / "full" / "simplified"


def recognized_by_key(categories: tuple[str, ...]) -> dict[str, bool]:
    flags = {}
    for name in categories:
        with (MIRROR / f"{name}.ndjson").open() as lines:
            for line in lines:
                drawing = json.loads(line)
                flags[str(drawing["key_id"])] = bool(drawing["recognized"])
    return flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--split", default="valid", choices=("train", "valid", "test"))
    args = parser.parse_args()
    scored = evaluate_split(args.run, args.data_dir, args.split)
    build = datastore.dataset_dir(args.data_dir, "simplified")
    keys = [bytes(k).decode() for k in np.load(build / FOLDER / f"{args.split}.key_ids.npy")]
    if len(keys) != len(scored.labels):
        raise SystemExit(f"{args.run} knows other categories than {build}: score it on its own data folder")
    flags = recognized_by_key(scored.names)
    found = [flags.get(key) for key in keys]  # None: not in the mirror
    right = scored.probabilities.argmax(axis=1) == scored.labels
    confusions = Counter(
        f"{scored.names[truth]} as {scored.names[guess]}"
        for truth, guess, ok in zip(scored.labels, scored.probabilities.argmax(axis=1), right)
        if not ok
    )
    kinds = {
        "recognized": np.array([flag is True for flag in found]),
        "not recognized": np.array([flag is False for flag in found]),
    }
    result = {
        "run": str(args.run),
        "split": args.split,
        "drawings": len(right),
        "errors": int((~right).sum()),
        "flag unknown": found.count(None),
        **{
            kind: {"drawings": int(rows.sum()), "errors": int((~right[rows]).sum()), "top1": float(right[rows].mean())}
            for kind, rows in kinds.items()
        },
        "confusions": dict(confusions.most_common(8)),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

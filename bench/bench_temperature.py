"""How many valid drawings a temperature needs: the rule behind metrics.MIN_CALIBRATION_DRAWINGS.

A model that is calibrated already (its true temperature is 1) gives probabilities over 15
categories; each drawing's label is drawn from them. metrics.fit_temperature is fitted on n such
drawings, 300 times for each n, and the 5th, 50th and 95th percentiles of T are printed, with the
share of fits that end at a bound of the search (a temperature that claims certainty, or none).

    .venv/bin/python bench/bench_temperature.py [--json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from sketchrnn_cli.metrics import TEMPERATURE_BOUNDS, fit_temperature

CATEGORIES = 15
SIZES = (1, 5, 10, 15, 20, 30, 50, 100, 200)


def calibrated_sample(rng: np.random.Generator, drawings: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of a calibrated model, and labels drawn from them."""
    logits = rng.normal(0.0, 3.0, (drawings, CATEGORIES))
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(CATEGORIES, p=row) for row in probabilities])
    return probabilities, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fits", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    low, high = TEMPERATURE_BOUNDS
    rows = []
    for drawings in SIZES:
        fits = np.array([fit_temperature(*calibrated_sample(rng, drawings)) for _ in range(args.fits)])
        p5, p50, p95 = np.percentile(fits, [5, 50, 95])
        at_bound = float(np.mean((fits < low * 1.01) | (fits > high / 1.01)))
        rows.append({"drawings": drawings, "p5": p5, "median": p50, "p95": p95, "at_bound": at_bound})
    if args.json:
        print(json.dumps(rows))
        return
    print("| valid drawings | T, 5th percentile | median | 95th percentile | fits at a bound |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['drawings']} | {row['p5']:.2f} | {row['median']:.2f} | {row['p95']:.2f} | {row['at_bound']:.1%} |"
        )


if __name__ == "__main__":
    main()

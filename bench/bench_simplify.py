"""How often our simplification of a raw drawing equals Google's published simplified drawing.

The mirror in ../shared/quickdraw holds raw drawings whose key_ids also appear in the
simplified files of the same category: the same drawing before and after Google's
simplification. For each such pair this parses both with `sketchrnn_cli.data.strokes.parse_drawing`
and counts exact matches of the resulting stroke-3 sequences, and of their lengths. It also
times the red team's pathological raw drawings (zigzags of 4,000 and 40,000 points, 0.09 and
0.99 MB of JSON), whose cost must stay bounded by their size and the points kept.

    .venv/bin/python bench/bench_simplify.py [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sketchrnn_cli.data.strokes import parse_drawing

SHARED = Path(__file__).resolve().parents[2] / "shared" / "quickdraw" / "full"


def pairs(root: Path = SHARED):
    """(raw drawing, simplified drawing) for every key_id in both files of a category."""
    for raw_file in sorted((root / "raw").glob("*.ndjson")):
        simplified = {}
        with (root / "simplified" / raw_file.name).open() as lines:
            for line in lines:
                row = json.loads(line)
                simplified[row["key_id"]] = row["drawing"]
        with raw_file.open() as lines:
            for line in lines:
                row = json.loads(line)
                if row["key_id"] in simplified:
                    yield row["drawing"], simplified[row["key_id"]]


def agreement(root: Path = SHARED) -> dict:
    same = same_length = total = 0
    started = time.perf_counter()
    for raw, simplified in pairs(root):
        ours, google = parse_drawing(raw, 10_000), parse_drawing(simplified, 10_000)
        total += 1
        same_length += len(ours) == len(google)
        same += len(ours) == len(google) and bool(np.array_equal(ours, google))
    return {
        "pairs": total,
        "identical": same / total,
        "same_length": same_length / total,
        "raw_drawings_per_second": total / (time.perf_counter() - started),
    }


def zigzag_seconds(points: int, max_length: int = 250) -> float:
    """CPU seconds to parse a raw zigzag of ``points`` points (the default max_length)."""
    zigzag = [[[float(i % 2) * 800 for i in range(points)], [i * 0.2 for i in range(points)], list(range(points))]]
    started = time.process_time()
    parse_drawing(zigzag, max_length)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = agreement()
    result["zigzag_cpu_seconds"] = {str(points): round(zigzag_seconds(points), 3) for points in (4_000, 40_000)}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['pairs']:,} raw drawings: {result['identical']:.1%} identical to Google's simplified "
            f"drawing, {result['same_length']:.1%} of the same length"
        )
        for points, seconds in result["zigzag_cpu_seconds"].items():
            print(f"a raw zigzag of {int(points):,} points: {seconds:.3f} s of CPU")


if __name__ == "__main__":
    main()

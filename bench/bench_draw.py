"""Server time per guess of `sketch draw` (target: under 50 ms for a 100-point drawing).

Two figures for raw drawings of about 100 points as the page sends them: the server's own time
(parse, simplify, the model; what the handler spends) and the whole HTTP round trip on
127.0.0.1. The engine is what `sketch draw` picks: LiteRT where the run has model.tflite, else
the Keras model (on JAX in the [jax] install: KERAS_BACKEND=jax .venv-jax/bin/python
bench/bench_draw.py RUN; the variable is what `sketch` sets there before Keras is imported).

    python bench/bench_draw.py runs/demo --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from sketchrnn_cli.use.draw import make_server, open_app, serving

MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "quickdraw"


def drawings_of_about(points: int, limit: int = 200) -> list:
    """Raw mirror drawings with points +- 10%, else spirals of that many points."""
    found = []
    for path in sorted((MIRROR / "full" / "raw").glob("*.ndjson")) if MIRROR.is_dir() else []:
        for line in path.read_text().splitlines():
            drawing = json.loads(line)["drawing"]
            if abs(sum(len(s[0]) for s in drawing) - points) <= points // 10:
                found.append(drawing)
        if len(found) >= limit:
            return found
    if found:
        return found
    t = np.linspace(0, 6 * np.pi, points)
    return [[[list(200 + t * np.cos(t) * 8), list(200 + t * np.sin(t) * 8), list(range(0, 16 * points, 16))]]]


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a trained run")
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    drawings = drawings_of_about(args.points)
    with tempfile.TemporaryDirectory() as tmp:
        app = open_app(args.run, Path(tmp) / "saved.ndjson")
        app.guesser.guess(drawings[0])  # the first call sizes LiteRT's tensors (Keras compiled in open_app)
        server_times = []
        for _ in range(args.repeats):
            for drawing in drawings:
                started = time.perf_counter()
                app.predict({"drawing": drawing, "k": 3})
                server_times.append(time.perf_counter() - started)
        round_trips = []
        with serving(make_server(app, "127.0.0.1", 0)) as server:
            url = f"http://127.0.0.1:{server.server_address[1]}/api/predict"
            for drawing in drawings:
                body = json.dumps({"drawing": drawing, "k": 3}).encode()
                request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                started = time.perf_counter()
                with urllib.request.urlopen(request) as response:
                    response.read()
                round_trips.append(time.perf_counter() - started)
    result = {
        "engine": app.guesser.predictor.name,
        "drawings": len(drawings),
        "points_each": f"{args.points} +- 10%",
        "mean_points": round(float(np.mean([sum(len(s[0]) for s in d) for d in drawings])), 1),
        "server": percentiles(server_times),
        "http_round_trip": percentiles(round_trips),
    }
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()

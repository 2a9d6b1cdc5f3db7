"""The Python API's costs, each beside the command line's in the same run (issue 30):

1. `import sketchrnn_cli` against `python -c pass` (whole processes, median of --repeat).
2. One drawing classified by a whole process: `sketch.load(RUN).predict(drawing)` against
   `sketch predict --model RUN drawing`, both on LiteRT (RUN must hold model.tflite), in
   PYTHON's environment (the slim install's, where it exists).
3. A few hundred drawings: `Classifier.probabilities` against `sketch evaluate RUN --data FILE`
   on the same drawings and the same engine (evaluate's own drawings/s, which counts the
   model's time only, its graph traced in it; the API's first call, traced the same way, then
   the best of three, with and without parsing the drawings).

    .venv/bin/python bench/bench_api.py RUN --data DRAWINGS.ndjson [--python .venv-slim/bin/python] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def seconds(command: list[str], repeat: int) -> float:
    """Median wall time of a whole process, after one untimed run (warm file cache)."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="an ndjson file of a few hundred drawings")
    parser.add_argument("--python", default=sys.executable, help="the environment measured in parts 1 and 2")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--backend", default="tensorflow", help="the engine of part 3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    python, run = args.python, str(args.run)
    one = args.data.with_name("one-drawing.ndjson")
    one.write_text(args.data.read_text().splitlines()[0] + "\n")
    sketch_command = [python, "-m", "sketchrnn_cli.cli"]
    figures = {
        "python_pass_s": seconds([python, "-c", "pass"], args.repeat),
        "import_sketchrnn_cli_s": seconds([python, "-c", "import sketchrnn_cli"], args.repeat),
        "api_predict_one_s": seconds(
            [python, "-c", f"import sketchrnn_cli as s; s.load({run!r}).predict({str(one)!r})"], args.repeat
        ),
        "cli_predict_one_s": seconds(
            [*sketch_command, "predict", "--model", run, "--backend", "litert", str(one)], args.repeat
        ),
    }
    figures["import_adds_s"] = figures["import_sketchrnn_cli_s"] - figures["python_pass_s"]

    import sketchrnn_cli as sketch
    from sketchrnn_cli.use.drawings import as_drawings

    model = sketch.load(run, backend=args.backend)
    started = time.perf_counter()
    parsed = as_drawings(str(args.data), model.config.data.max_length)
    parsing = time.perf_counter() - started
    started = time.perf_counter()
    model.probabilities(parsed)  # cold, as evaluate's one call is: the engine traces its graph first
    cold = len(parsed) / (time.perf_counter() - started)
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        model.probabilities(parsed)
        rates.append(len(parsed) / (time.perf_counter() - started))
    evaluate = subprocess.run(
        [
            sys.executable,
            "-m",
            "sketchrnn_cli.cli",
            "evaluate",
            run,
            "--data",
            str(args.data),
            "--backend",
            args.backend,
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    best = max(rates)
    figures.update(
        drawings=len(parsed),
        engine=model.backend,
        api_probabilities_first_call_per_s=cold,
        api_probabilities_per_s=best,
        api_probabilities_with_parsing_per_s=len(parsed) / (len(parsed) / best + parsing),
        cli_evaluate_per_s=json.loads(evaluate.stdout)["drawings_per_second"],
    )
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:40} {value:.3f}" if isinstance(value, float) else f"{key:40} {value}")


if __name__ == "__main__":
    main()

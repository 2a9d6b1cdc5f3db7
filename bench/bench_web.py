"""The exported draw page (`sketch export --format web`) in headless Chromium on this CPU: time
from page load to the first guess, time per guess for a 100-point drawing (goal: median under
20 ms) and the bytes the page transfers (and what gzip would make of them). --sizes also exports an untrained model of every
--size and architecture (345 categories) and checks each guesses in the browser as onnxruntime
does in Python.

    .venv/bin/python bench/bench_web.py RUN [--loads 5] [--repeats 3] [--sizes] [--json]

The drawings are bench_draw.py's (the raw mirror drawings of 90 to 110 points), so the figure
per guess stands beside the server's. Each load starts with the browser's cache off, as a first
visit. The site is served by `python -m http.server`, as the docs tell.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_draw import drawings_of_about, percentiles  # noqa: E402

from sketchrnn_cli.use import web_runtime  # noqa: E402

FIRST_GUESS = """
    const done = arguments[1];
    strokes = arguments[0];
    guess().then(() => done({ms: performance.now(), shown: document.querySelectorAll('#guesses li[data-label]').length,
        bytes: performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
            .reduce((sum, entry) => sum + entry.transferSize, 0)}));
"""
EACH_GUESS = """
    const done = arguments[2];
    (async () => {
        const times = [];
        for (let repeat = 0; repeat < arguments[1]; repeat++) {
            for (const drawing of arguments[0]) {
                const started = performance.now();
                await engine.guess(drawing, 3);
                times.push(performance.now() - started);
            }
        }
        done(times);
    })();
"""
PROBABILITIES = """
    const done = arguments[1];
    Promise.all(arguments[0].map((d) => engine.guess(d, 345))).then((answers) => done(answers.map(
        (a) => a.predictions.map((p) => [p.label, p.probability]))), (error) => done(String(error)));
"""


def chromium():
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


class StaticServer:
    """`python -m http.server` on a free port, serving ``folder``."""

    def __init__(self, folder: Path, port: int = 8765):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait()


def export(run: Path, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sketchrnn_cli.cli", "export", str(run), "--format", "web", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"export of {run} failed: {done.stderr.strip().splitlines()[-1]}")


def first_guesses(browser, url: str, drawing, loads: int) -> list[dict]:
    """Each load with the cache off: ms from navigation to the first guess shown, bytes moved."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    results = []
    for _ in range(loads):
        browser.get("about:blank")
        browser.get(url)
        results.append(browser.execute_async_script(FIRST_GUESS, drawing))
    return results


def measure(run: Path, loads: int, repeats: int) -> dict:
    drawings = drawings_of_about(100)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        export(run, site)
        browser = chromium()
        browser.set_script_timeout(600)
        try:
            with StaticServer(site) as server:
                firsts = first_guesses(browser, server.url, drawings[0], loads)
                browser.execute_async_script(EACH_GUESS, drawings[:5], 1)  # warm
                times = browser.execute_async_script(EACH_GUESS, drawings, repeats)
        finally:
            browser.quit()
        sizes = {path.name: path.stat().st_size for path in site.rglob("*") if path.is_file()}
        # what a server that gzips (level 6, the common default) would send of the files the page loads
        loaded = [
            path
            for path in site.rglob("*")
            if path.is_file() and path.suffix in (".html", ".js", ".mjs", ".wasm", ".onnx")
        ]
        gzipped = sum(len(gzip.compress(path.read_bytes(), 6)) for path in loaded)
    return {
        "drawings": len(drawings),
        "mean_points": round(float(np.mean([sum(len(s[0]) for s in d) for d in drawings])), 1),
        "load_to_first_guess_ms": {
            "median": float(np.median([f["ms"] for f in firsts])),
            "all": [round(f["ms"]) for f in firsts],
        },
        "per_guess": percentiles([t / 1000 for t in times]),
        "bytes_transferred": int(np.median([f["bytes"] for f in firsts])),
        "file_bytes": sizes,
        "gzip_6_bytes_of_the_files_loaded": gzipped,
        "runtime": f"onnxruntime-web {web_runtime.VERSION}",
    }


def every_size(loads: int) -> list[dict]:
    """An untrained model of each size and architecture: exported, loaded, and its guesses on
    20 drawings equal to onnxruntime's in Python (within 1e-4)."""
    import onnxruntime

    from sketchrnn_cli.artifacts import RunFiles, write_config
    from sketchrnn_cli.config import ARCHITECTURES, SIZES, DataConfig, ModelConfig, RunConfig
    from sketchrnn_cli.data.strokes import parse_drawing
    from sketchrnn_cli.model.model import build_model

    labels = tuple(f"category {i}" for i in range(345))
    drawings = drawings_of_about(100)[:20]
    rows = []
    browser = chromium()
    browser.set_script_timeout(600)
    try:
        for arch in ARCHITECTURES:
            for size in SIZES:
                with tempfile.TemporaryDirectory() as tmp:
                    run, site = Path(tmp) / "run", Path(tmp) / "site"
                    config = RunConfig(data=DataConfig(labels=labels), model=ModelConfig.sized(size, arch=arch))
                    run.mkdir()
                    build_model(config.model, len(labels)).save(run / "model.keras")
                    write_config(RunFiles(run), config)
                    started = time.perf_counter()
                    export(run, site)
                    seconds = time.perf_counter() - started
                    session = onnxruntime.InferenceSession(str(site / "model.onnx"))
                    expected = []
                    for drawing in drawings:
                        sequence = parse_drawing(drawing, config.data.max_length)[None]
                        expected.append(session.run(None, {"strokes": sequence, "length": [len(sequence[0])]})[0][0])
                    with StaticServer(site) as server:
                        first = first_guesses(browser, server.url, drawings[0], loads)
                        answers = browser.execute_async_script(PROBABILITIES, drawings)
                        times = browser.execute_async_script(EACH_GUESS, drawings, 3)
                    worst = max(
                        abs(p - want[labels.index(label)])
                        for answer, want in zip(answers, expected)
                        for label, p in answer
                    )
                    rows.append(
                        {
                            "arch": arch,
                            "size": size,
                            "export_s": round(seconds, 1),
                            "model_mb": round((site / "model.onnx").stat().st_size / 1e6, 1),
                            "load_to_first_guess_ms": float(np.median([f["ms"] for f in first])),
                            "per_guess_median_ms": percentiles([t / 1000 for t in times])["median_ms"],
                            "largest_difference": float(worst),
                        }
                    )
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        browser.quit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a trained run (with model.keras)")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", action="store_true", help="also every size and architecture, untrained")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("SKETCH_CACHE", str(web_runtime.default_cache()))
    result = {"site": measure(args.run, args.loads, args.repeats)}
    if args.sizes:
        result["sizes"] = every_size(max(1, args.loads // 2))
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()

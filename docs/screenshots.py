"""Remakes the site's pictures from a trained run and the current code: docs/draw.png and
docs/report.png (headless Chromium + Selenium), and docs/predict.svg (`sketch predict --show` in
a terminal, recorded by rich). Remake them whenever what they show changes.

python docs/screenshots.py runs/demo data
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.actions.action_builder import ActionBuilder

from sketchrnn_cli.use.draw import make_server, open_app, serving

DOCS = Path(__file__).resolve().parent
MIRROR = DOCS.parents[1] / "shared" / "quickdraw"


def browser(width: int, height: int):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome") or ""
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    driver = shutil.which("chromedriver")
    return webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=driver) if driver else None
    )


def draw(driver, strokes, size: float) -> None:
    """Drags the mouse along a simplified drawing's strokes, scaled to ``size`` pixels."""
    canvas = driver.find_element("id", "canvas")
    box = canvas.rect
    actions = ActionBuilder(driver, duration=5)
    for xs, ys in strokes:
        points = [
            (int(x / 255 * size + 20 - box["width"] / 2), int(y / 255 * size + 20 - box["height"] / 2))
            for x, y in zip(xs, ys)
        ]
        actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
        for point in points[1:]:
            actions.pointer_action.move_to(canvas, *point)
        actions.pointer_action.pointer_up()
    actions.perform()


def terminal(run: Path) -> None:
    """`sketch predict --show` on the sample drawings, as a terminal of 100 columns shows it."""
    from rich.console import Console
    from rich.text import Text

    command = ["sketch", "predict", "--model", f"runs/{run.name}", "--show", "data/samples/my_drawings.ndjson"]
    done = subprocess.run(
        [sys.executable, "-m", "sketchrnn_cli.cli", "predict", "--model", str(run.resolve()), *command[4:]],
        capture_output=True,
        text=True,
        cwd=DOCS.parent,  # the sample's path as the command names it
        env={**os.environ, "COLUMNS": "100", "FORCE_COLOR": "1", "TERM": "xterm-256color"},
    )
    with open(os.devnull, "w") as nowhere:  # recorded, not shown
        console = Console(record=True, width=100, file=nowhere)
        console.print(Text("$ " + " ".join(command), style="bold"))
        console.print(Text.from_ansi(done.stdout + done.stderr))
    console.save_svg(str(DOCS / "predict.svg"), title="sketch predict --show")


def main() -> None:
    run, data = Path(sys.argv[1]), Path(sys.argv[2])
    terminal(run)
    cat = json.loads((MIRROR / "full" / "simplified" / "cat.ndjson").read_text().splitlines()[3])["drawing"]
    driver = browser(900, 620)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            serving(make_server(open_app(run, Path(tmp) / "d.ndjson"), "127.0.0.1", 0)) as server,
        ):
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            draw(driver, cat, 360)
            time.sleep(1.0)
            driver.save_screenshot(str(DOCS / "draw.png"))
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.html"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sketchrnn_cli.cli",
                    "evaluate",
                    str(run),
                    "--data-dir",
                    str(data),
                    "--report",
                    str(report),
                ],
                check=True,
                capture_output=True,
            )
            driver.set_window_size(1100, 1500)
            driver.get(report.as_uri())
            driver.save_screenshot(str(DOCS / "report.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

"""The documentation cannot go stale (issue 31): the README's commands and Python run as printed,
the site builds in strict mode, and its reference names every command and public API name."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import SKETCH, TINY, TINY_MODEL, shape_drawing, sketch

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The README's categories, drawn as the tests' shapes: real names, easy to tell apart.
CATEGORIES = {"cat": "circle", "airplane": "zigzag", "paint can": "square"}


def commands() -> list[str]:
    """Every `sketch ...` line of the README's indented command blocks, in order."""
    return [line.strip() for line in README.splitlines() if line.startswith("    sketch ")]


def python_blocks() -> list[str]:
    return [block.split("```", 1)[0] for block in README.split("```python\n")[1:]]


@pytest.fixture
def project(tmp_path, trained_run) -> tuple[Path, dict]:
    """A folder like a clone after `make demo` (runs/demo, the samples), and the environment
    that points downloads at a local bucket holding the README's categories."""
    rng = np.random.default_rng(3)
    bucket = tmp_path / "bucket" / "full" / "simplified"
    bucket.mkdir(parents=True)
    for name, shape in CATEGORIES.items():
        lines = [
            json.dumps(
                {"word": name, "key_id": str(10**12 + 1000 * len(name) + i), "drawing": shape_drawing(shape, rng)}
            )
            for i in range(60)
        ]
        (bucket / f"{name}.ndjson").write_text("\n".join(lines) + "\n")
    folder = tmp_path / "project"
    shutil.copytree(ROOT / "data" / "samples", folder / "data" / "samples")
    shutil.copytree(trained_run, folder / "runs" / "demo")
    return folder, {"SKETCH_SOURCE": str(tmp_path / "bucket"), "SKETCH_CACHE": str(ROOT / ".cache")}


def as_run(command: str) -> list[str]:
    """The command's arguments; training is shortened to the tests' tiny model and two epochs."""
    args = shlex.split(command)[1:]
    if args[0] == "train" and "--max-minutes" in args:
        at = args.index("--max-minutes")
        args[at : at + 2] = ["--epochs", "2", *TINY]
    return args


def test_every_command_of_the_readme_runs_as_printed(project):
    folder, env = project
    listed = commands()
    assert {shlex.split(c)[1] for c in listed} >= {"download", "train", "evaluate", "predict", "draw", "export"}
    for command in listed:
        args = as_run(command)
        if args[0] == "draw":  # a server: it must start and answer, then it is stopped
            process = subprocess.Popen(
                [*SKETCH, *args, "--no-browser", "--port", "0"],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                address = process.stdout.readline().strip()
                with urllib.request.urlopen(address, timeout=30) as page:
                    assert page.status == 200, command
            finally:
                process.terminate()
                process.wait(timeout=30)
            continue
        done = sketch(*args, cwd=folder, env=env, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    example = next(line.strip() for line in README.splitlines() if line.startswith('    {"word"'))
    (folder / "mine.ndjson").write_text(example + "\n")
    done = sketch("predict", "--model", "runs/demo", "mine.ndjson", cwd=folder)
    assert done.returncode == 0, done.stderr


def test_the_readme_s_python_runs_as_printed(project):
    """The Python beside each command, in one script; the download is pointed at the local
    bucket and training shortened, as the commands' test does."""
    folder, env = project
    script = "import sketchrnn_cli as sketch\n" + "\n".join(python_blocks())
    script = script.replace('"data",\n', f'"data", source={env["SKETCH_SOURCE"]!r},\n', 1)
    script = script.replace(
        "training=sketch.TrainConfig(max_minutes=5)",
        f"training=sketch.TrainConfig(epochs=1, batch_size=16), model=sketch.ModelConfig(**{TINY_MODEL!r})",
    )
    assert "source=" in script and "epochs=1" in script
    done = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (folder / "serving" / "model.onnx").is_file() and (folder / "runs" / "mine" / "model.keras").is_file()


def test_the_site_builds_in_strict_mode_and_its_reference_names_every_command_and_api_name(tmp_path):
    """mkdocs --strict: a broken link, a missing reference or any warning fails the build."""
    import sketchrnn_cli
    from sketchrnn_cli.cli import main

    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
    commands_page = (site / "commands" / "index.html").read_text()
    for name in main.commands:
        assert f"sketch {name}" in commands_page, name
    api_page = (site / "python" / "index.html").read_text()
    for name in sketchrnn_cli.__all__:
        assert name in api_page, name


def test_the_demo_ends_with_three_commands_that_run_as_printed(trained_run, shapes_data, tmp_path):
    """Issue 29, #6: `make demo` ended with `next: sketch evaluate ...`, though `sketch` is not on
    the PATH before `source .venv/bin/activate`. It ends with the model's categories and three
    commands that run as printed from the project's folder."""
    if not (ROOT / ".venv" / "bin" / "sketch").exists():
        pytest.skip("no .venv here (make test builds it)")
    run = tmp_path / "runs" / "demo"
    shutil.copytree(trained_run, run)
    done = subprocess.run(
        ["make", "-s", "demo-next", f"RUN_DIR={run}", f"DATA_DIR={shapes_data}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "The demo's model knows airplane,bicycle" in done.stdout
    printed = [
        line.split("  #")[0].strip() for line in done.stdout.splitlines() if line.startswith("  .venv/bin/sketch")
    ]
    assert len(printed) == 3
    for command in printed:
        args = shlex.split(command)
        if args[1] == "draw":
            process = subprocess.Popen(
                [*args, "--no-browser", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            try:
                with urllib.request.urlopen(process.stdout.readline().strip(), timeout=30) as page:
                    assert page.status == 200
            finally:
                process.terminate()
                process.wait(timeout=30)
            continue
        ran = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert ran.returncode == 0, f"{command}\n{ran.stderr}"
    assert (run / "report.html").is_file()

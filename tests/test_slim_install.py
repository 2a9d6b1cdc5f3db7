"""The slim install (`pip install sketchrnn-cli`, no TensorFlow) predicts and scores on LiteRT,
and says in one line which extra the other commands need. `make test` builds it in .venv-slim."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import shape_drawing, sketch_without_tensorflow, start_draw

SLIM = Path(os.environ.get("SKETCH_SLIM_VENV", Path(__file__).resolve().parents[1] / ".venv-slim")).absolute()


@pytest.fixture(scope="module")
def slim_sketch() -> Path:
    return sketch_without_tensorflow(SLIM)


@pytest.fixture
def drawings(tmp_path) -> Path:
    rng = np.random.default_rng(5)
    path = tmp_path / "mine.ndjson"
    path.write_text(
        "".join(
            json.dumps({"word": shape, "key_id": str(i), "drawing": shape_drawing(shape, rng)}) + "\n"
            for i, shape in enumerate(["circle", "square", "zigzag", "circle"])
        )
    )
    return path


def run(command, *args):
    return subprocess.run([str(command), *map(str, args)], capture_output=True, text=True)


def test_the_slim_install_predicts_what_the_full_install_predicts(slim_sketch, trained_run, drawings):
    import sys

    slim = run(slim_sketch, "predict", "--model", trained_run, "--json", drawings)
    full = run(sys.executable, "-m", "sketchrnn_cli.cli", "predict", "--model", trained_run, "--json", drawings)
    assert slim.returncode == 0 and full.returncode == 0, slim.stderr + full.stderr
    assert [json.loads(line) for line in slim.stdout.splitlines()] == [
        json.loads(line) for line in full.stdout.splitlines()
    ]


def test_the_slim_install_scores_drawings_on_litert(slim_sketch, trained_run, drawings):
    done = run(slim_sketch, "evaluate", trained_run, "--data", drawings, "--backend", "litert", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 4


@pytest.mark.parametrize(
    "args",
    [
        ["train"],
        ["download", "--categories", "cat", "--tfds"],
        ["export", "RUN", "--out", "x"],
        ["predict", "--backend", "tensorflow", "--model", "RUN", "-"],
    ],
)
def test_a_command_that_needs_tensorflow_says_which_extra_to_install(slim_sketch, trained_run, tmp_path, args):
    args = [str(trained_run) if a == "RUN" else a for a in args]
    done = subprocess.run([str(slim_sketch), *args], capture_output=True, text=True, cwd=tmp_path, input="")
    assert done.returncode == 1, done.stdout
    assert done.stderr.strip().endswith('pip install "sketchrnn-cli[train]"'), done.stderr
    assert "Traceback" not in done.stderr


def test_the_slim_install_builds_the_same_dataset_as_the_full_install(slim_sketch, bucket, tmp_path):
    """A build is flat arrays, written with NumPy alone: TensorFlow only for --tfds/--beam-runner."""
    from conftest import SHAPES, dataset_rows

    for name, sketch in (("slim", slim_sketch), ("full", Path(sys.executable).with_name("sketch"))):
        done = run(
            sketch,
            "download",
            "--data-dir",
            tmp_path / name,
            "--source",
            bucket,
            "--categories",
            ",".join(SHAPES),
            "--workers",
            "2",
        )
        assert done.returncode == 0, done.stderr
    assert dataset_rows(tmp_path / "slim") == dataset_rows(tmp_path / "full")


def test_info_works_without_tensorflow(slim_sketch, tmp_path):
    done = run(slim_sketch, "info", "--json", "--data-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tensorflow"] == "not installed"


def test_the_slim_install_serves_the_draw_page(slim_sketch, trained_run, tmp_path):
    """`sketch draw` guesses on LiteRT: no TensorFlow needed."""
    import urllib.request

    process, url = start_draw(trained_run, tmp_path / "saved.ndjson", command=[str(slim_sketch)])
    try:
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        drawing = shape_drawing("zigzag", np.random.default_rng(1))
        request = urllib.request.Request(
            url + "api/predict", json.dumps({"drawing": drawing}).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert len(json.loads(response.read())["predictions"]) == 3
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_slim_install_scores_a_dataset_split_from_its_flat_arrays(slim_sketch, trained_run, shapes_data):
    import sys

    slim = run(slim_sketch, "evaluate", trained_run, "--data-dir", shapes_data, "--backend", "litert", "--json")
    full = run(
        sys.executable,
        "-m",
        "sketchrnn_cli.cli",
        "evaluate",
        trained_run,
        "--data-dir",
        shapes_data,
        "--backend",
        "litert",
        "--json",
    )
    assert slim.returncode == 0 and full.returncode == 0, slim.stderr + full.stderr
    assert json.loads(slim.stdout)["top1"] == json.loads(full.stdout)["top1"] and json.loads(slim.stdout)["count"] > 0


def test_the_training_policy_is_pure_and_runs_in_the_slim_install(slim_sketch):
    """The schedule, stopping rule and checkpoint state import no TensorFlow or Keras (issue 20, #3)."""
    python = slim_sketch.parent / "python"
    script = (
        "import sys; from sketchrnn_cli.model import schedule; from sketchrnn_cli.config import TrainConfig; "
        "state = schedule.TrainingState(epoch=10, position=100, best_position=100); "
        "assert schedule.stop_reason(state, TrainConfig(epochs=10), 10) == 'epochs done'; "
        "assert not {'tensorflow', 'keras', 'jax'} & set(sys.modules), sorted(sys.modules)"
    )
    done = run(python, "-c", script)
    assert done.returncode == 0, done.stderr


def test_the_python_api_predicts_in_the_slim_install_without_tensorflow(slim_sketch, trained_run, drawings):
    """Issue 30: load() of a run with model.tflite predicts one drawing on LiteRT, and the whole
    process imports neither TensorFlow nor Keras nor JAX."""
    python = slim_sketch.parent / "python"
    script = (
        "import sys, sketchrnn_cli as sketch\n"
        f"model = sketch.load({str(trained_run)!r})\n"
        f"result = model.predict({str(drawings)!r})[0]\n"
        "print(model.backend, result.label in model.labels, 0 < result.probability <= 1)\n"
        "print(sorted({'tensorflow', 'keras', 'jax'} & set(sys.modules)))\n"
    )
    done = run(python, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["litert True True", "[]"]


def test_the_slim_install_with_onnx_predicts_from_an_onnx_export_without_tensorflow(slim_sketch, onnx_export, drawings):
    """slim + [onnx]: onnxruntime alone runs an export (the environment has no TensorFlow)."""
    import sys

    slim = run(slim_sketch, "predict", "--model", onnx_export, "--backend", "onnx", "--json", drawings)
    full = run(
        sys.executable,
        "-m",
        "sketchrnn_cli.cli",
        "predict",
        "--model",
        onnx_export,
        "--backend",
        "onnx",
        "--json",
        drawings,
    )
    assert slim.returncode == 0, slim.stderr
    assert slim.stdout == full.stdout and slim.stdout.count("predictions") >= 2

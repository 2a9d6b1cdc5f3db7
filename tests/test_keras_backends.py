"""Training on Keras's JAX backend in an environment without TensorFlow (`pip install ".[jax]"`,
built by `make test` in .venv-jax), and its weights served like any run's."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import SHAPES, SKETCH, sketch_without_tensorflow

JAX_VENV = Path(os.environ.get("SKETCH_JAX_VENV", Path(__file__).resolve().parents[1] / ".venv-jax")).absolute()


@pytest.fixture(scope="module")
def jax_sketch() -> Path:
    return sketch_without_tensorflow(JAX_VENV)


def test_jax_trains_without_tensorflow_and_its_run_evaluates_exports_and_predicts(jax_sketch, shapes_data, tmp_path):
    run = tmp_path / "jax-run"
    done = subprocess.run(
        [
            str(jax_sketch),
            "train",
            "--keras-backend",
            "jax",
            "--data-dir",
            str(shapes_data),
            "--run-dir",
            str(run),
            "--epochs",
            "8",
            "--batch-size",
            "16",
            "--learning-rate",
            "0.01",
            "--conv-filters",
            "16,16",
            "--rnn-units",
            "16",
            "--image-side",
            "12",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "training on CPU (JAX sees no GPU)" in done.stderr
    assert json.loads((run / "summary.json").read_text())["epochs_run"] == 8
    assert not (run / "model.tflite").exists()  # written by sketch export, where TensorFlow is

    scored = subprocess.run(
        [*SKETCH, "evaluate", str(run), "--data-dir", str(shapes_data), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["top1"] >= 0.6  # three easy shapes, eight short epochs
    exported = subprocess.run([*SKETCH, "export", str(run), "--out", str(run)], capture_output=True, text=True)
    assert exported.returncode == 0 and (run / "model.tflite").is_file(), exported.stderr
    drawings = tmp_path / "d.ndjson"
    drawings.write_text(json.dumps({"drawing": [[[0, 50, 100, 150], [0, 80, 0, 80]]]}) + "\n")
    predicted = subprocess.run(
        [str(jax_sketch), "predict", "--model", str(run), "--json", str(drawings)], capture_output=True, text=True
    )
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["predictions"][0]["label"] in SHAPES


def test_the_keras_predictor_gives_the_tensorflow_predictors_probabilities(trained_run, shapes_data):
    """Padding to a fixed batch and a few lengths (for compiled backends) changes no answer."""
    from sketchrnn_cli.artifacts import RunFiles
    from sketchrnn_cli.datastore import dataset_dir
    from sketchrnn_cli.flat import FlatSplit
    from sketchrnn_cli.inference import KerasPredictor, TensorFlowPredictor
    from sketchrnn_cli.model_io import load_trained_model

    config, model = load_trained_model(RunFiles(trained_run))
    split = FlatSplit.open(dataset_dir(shapes_data, "simplified"), "valid", SHAPES)
    sequences = split.sequences(range(len(split)), config.data.max_length)
    by_keras = KerasPredictor(model, len(SHAPES), [64, 256], batch_size=8).predict(sequences)
    by_tensorflow = TensorFlowPredictor(model, len(SHAPES)).predict(sequences)
    assert np.allclose(by_keras, by_tensorflow, atol=1e-5)


def test_a_run_without_model_tflite_gets_one_from_a_tensorflow_process(trained_run, tmp_path):
    """What training on JAX does at its end where TensorFlow is installed too."""
    import shutil

    from sketchrnn_cli.train import export_with_tensorflow

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns(".lock", "model.tflite"))
    assert export_with_tensorflow(run) == "written" and (run / "model.tflite").stat().st_size > 0
    (run / "model.keras").write_bytes(b"damaged")
    outcome = export_with_tensorflow(run)
    assert outcome.startswith("not written") and "model.keras" in outcome  # reported, not dropped

"""The public Python API (`import sketchrnn_cli as sketch`), used as a notebook or a script would:
every drawing form, bad drawings named by index, run and export folders, the notebook view,
Ctrl-C during train(), and the docstrings' examples run as written."""

from __future__ import annotations

import csv
import doctest
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import sketchrnn_cli as sketch
from sketchrnn_cli.data.reader import Drawing
from sketchrnn_cli.data.strokes import parse_drawing

from conftest import SHAPES, TINY_MODEL, shape_drawing
from conftest import sketch as run_sketch


def shapes(seed: int = 11) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"word": shape, "key_id": str(i), "drawing": shape_drawing(shape, rng)} for i, shape in enumerate(SHAPES)]


@pytest.fixture(scope="module")
def model(trained_run):
    return sketch.load(trained_run)


def test_importing_the_package_imports_neither_numpy_nor_a_deep_learning_library():
    probe = "import sys, sketchrnn_cli; print([m for m in ('numpy', 'tensorflow', 'keras', 'jax') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_drawing_form_the_command_line_reads_gives_the_same_answer(model, tmp_path):
    drawings = shapes()
    expected = model.probabilities([d["drawing"] for d in drawings])  # Quick, Draw! stroke lists
    ndjson = tmp_path / "mine.ndjson"
    ndjson.write_text("".join(json.dumps(d) + "\n" for d in drawings))
    kaggle = tmp_path / "mine.csv"
    with kaggle.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["countrycode", "drawing", "key_id", "recognized", "timestamp", "word"])
        for d in drawings:
            writer.writerow(["US", json.dumps(d["drawing"]), d["key_id"], "True", "2017-01-01", d["word"]])
    arrays = [parse_drawing(d["drawing"]) for d in drawings]
    forms = {
        "parsed ndjson objects": drawings,
        "an ndjson path": str(ndjson),
        "a Kaggle CSV path": kaggle,
        "stroke-3 arrays": arrays,
        "tuples and NumPy": [tuple(np.array(stroke) for stroke in d["drawing"]) for d in drawings],
        "parsed drawings": [Drawing(a, "mine", i) for i, a in enumerate(arrays)],
    }
    for form, value in forms.items():
        np.testing.assert_allclose(model.probabilities(value), expected, atol=1e-6, err_msg=form)
    raw = [
        [[float(v) * 2.5 + 10 for v in xs], [float(v) * 2.5 + 3 for v in ys], list(range(len(xs)))]
        for xs, ys in drawings[0]["drawing"]
    ]
    assert model.predict(raw)[0].drawing.sequence.shape[1] == 3  # raw [[x], [y], [t]] strokes: simplified first


def test_one_drawing_in_gives_a_list_of_one_result_that_knows_its_drawing(model):
    circle = shapes()[0]
    results = model.predict(circle["drawing"], top_k=2)
    assert len(results) == 1
    (result,) = results
    assert [label for label, _ in result.top_k] == [result.label, result.top_k[1][0]] and len(result.top_k) == 2
    assert result.probability == result.top_k[0][1] >= result.top_k[1][1]
    np.testing.assert_array_equal(result.drawing.sequence, parse_drawing(circle["drawing"]))
    assert model.predict(circle)[0].drawing.word == "circle"
    assert model.predict(shapes())[2].drawing.key_id == "2"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"drawing": [[10, 20], [30, 40]]}, "drawing 1: stroke 0"),
        ([[[1, 2, 3], [4, 5]]], "drawing 1: stroke 0 has no points or x/y of different lengths"),
        (np.zeros((4, 2)), "drawing 1: a stroke-3 array must be [N, 3]"),
        (np.array([[0.1, 0.2, 5.0]]), "drawing 1: the third column of a stroke-3 array is the pen lift"),
        ({"word": "cat"}, "drawing 1: expected a JSON object with a 'drawing' field"),
        (42, "drawing 1: expected a JSON object with a 'drawing' field, or a drawing array"),
        ("no-such-file.ndjson", "no-such-file.ndjson"),
    ],
)
def test_a_bad_drawing_in_a_list_is_the_package_s_error_naming_its_index(model, bad, message):
    with pytest.raises(sketch.SketchError) as raised:
        model.predict([shapes()[0], bad])
    assert message in str(raised.value)


def test_a_bad_single_drawing_and_a_bad_line_in_a_file_are_named(model, tmp_path):
    with pytest.raises(sketch.SketchError, match="the drawing: stroke 0"):
        model.predict({"drawing": [[1, 2, 3], [4, 5]]})
    broken = tmp_path / "broken.ndjson"
    broken.write_text(json.dumps(shapes()[0]) + "\n{not json\n")
    with pytest.raises(sketch.SketchError, match="broken.ndjson:2: "):
        model.predict(broken)
    with pytest.raises(sketch.SketchError, match="top_k must be at least 1"):
        model.predict(shapes(), top_k=0)


def test_a_run_folder_and_each_export_folder_load_and_give_the_run_s_answers(trained_run, onnx_export, tmp_path):
    drawings = shapes()
    expected = sketch.load(trained_run, backend="tensorflow").probabilities(drawings)
    tflite = tmp_path / "tflite"
    assert sketch.export(trained_run, tflite, "tflite") == tflite / "model.tflite"
    saved = tmp_path / "saved"
    sketch.load(trained_run).export(saved, "saved_model")
    for folder, engine in ((trained_run, "litert"), (tflite, "litert"), (onnx_export, "onnx"), (saved, "tensorflow")):
        loaded = sketch.load(folder)
        assert loaded.backend == engine and loaded.labels == SHAPES, folder
        np.testing.assert_allclose(loaded.probabilities(drawings), expected, atol=1e-4, err_msg=str(folder))


def test_progressive_guesses_and_scores_are_what_the_command_line_gives(model, trained_run, tmp_path):
    drawings = shapes()
    path = tmp_path / "mine.ndjson"
    path.write_text("".join(json.dumps(d) + "\n" for d in drawings))
    by_cli = run_sketch("predict", "--model", trained_run, "--progressive", "--json", path)
    assert by_cli.returncode == 0, by_cli.stderr
    for result, line in zip(model.predict(path, progressive=True), by_cli.stdout.splitlines(), strict=True):
        assert result.as_json() == json.loads(line)
    scored = run_sketch("evaluate", trained_run, "--data", path, "--json")
    assert scored.returncode == 0, scored.stderr
    mine, theirs = sketch.evaluate(trained_run, path), json.loads(scored.stdout)
    assert mine.keys() == theirs.keys()
    timing = {"drawings_per_second"}
    assert {k: v for k, v in mine.items() if k not in timing} == {k: v for k, v in theirs.items() if k not in timing}


def test_a_prediction_shows_its_drawing_beside_its_guesses_in_a_notebook(model):
    result = model.predict(shapes()[0])[0]
    shown = result._repr_html_()
    assert shown.count("<svg") == 1 and "<polyline" in shown
    assert all(label in shown for label, _ in result.top_k) and "%" in shown
    assert repr(result).startswith("<Prediction circle") and repr(model).endswith("3 categories on litert>")
    assert result.drawing._repr_svg_().startswith("<svg")  # a drawing shows itself too


def test_ctrl_c_during_train_is_a_keyboard_interrupt_the_caller_catches(shapes_data, tmp_path):
    """Library calls print nothing and never exit: Ctrl-C reaches the caller as KeyboardInterrupt,
    and the run folder keeps its last checkpoint."""
    run = tmp_path / "run"
    script = (
        "import sketchrnn_cli as sketch\n"
        f"tiny = sketch.ModelConfig(**{TINY_MODEL!r})\n"
        "try:\n"
        f"    sketch.train({str(shapes_data)!r}, model=tiny, run_dir={str(run)!r},\n"
        "                 training=sketch.TrainConfig(epochs=500, batch_size=16))\n"
        "except KeyboardInterrupt:\n"
        "    print('caught')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell starts background jobs with SIGINT ignored, which a library
        # must respect (Python then installs no handler), so the test would wait out 500 epochs
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    progress = run / "checkpoint" / "progress.json"
    deadline = time.monotonic() + 300
    try:
        while not progress.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()  # a failure leaves no trainer behind to slow the tests after it
    assert process.returncode == 0, err
    assert out == "caught\n"
    assert json.loads(progress.read_text())["epoch"] >= 1


def test_the_docstring_examples_run_as_written(trained_run, shapes_data, bucket, tmp_path):
    """The examples in the API's docstrings are run (an equivalent of doctest under pytest), so
    they cannot go stale."""
    from sketchrnn_cli import api

    drawings = shapes()
    path = tmp_path / "examples.ndjson"
    path.write_text("".join(json.dumps(d) + "\n" for d in drawings))
    names = {
        "sketch": sketch,
        "run": trained_run,
        "model": sketch.load(trained_run),
        "sketch_drawings": drawings,
        "sketch_file": path,
        "new_folder": tmp_path / "data",
        "data_dir": shapes_data,
        "bucket": str(bucket),
        "scratch": tmp_path,
        "tiny": sketch.ModelConfig(**TINY_MODEL),
    }
    outcome = doctest.testmod(api, extraglobs=names, optionflags=doctest.ELLIPSIS, report=True)
    assert outcome.attempted >= 20 and outcome.failed == 0


def test_the_python_page_s_example_runs_as_printed(trained_run, tmp_path):
    """The first block of docs/python.md, run in a folder holding runs/demo and the sample file."""
    import shutil
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "python.md").read_text()
    block = page.split("```python\n", 1)[1].split("```", 1)[0]
    shutil.copytree(trained_run, tmp_path / "runs" / "demo")
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    shutil.copytree(samples, tmp_path / "data" / "samples")
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("cat ") and lines[-1].startswith("[(1, ") and "(1, 3)" in lines

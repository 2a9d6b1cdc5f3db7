"""`sketch predict` as a user runs it: files, stdin, JSON, art, progressive, bad input."""

import json
import re
import select
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from sketchrnn_cli.cli.render import braille
from sketchrnn_cli.data.strokes import parse_drawing

from conftest import (
    SKETCH,
    drawing_line,
    one_error_line,
    shape_drawing,
    sketch,
    start_draw,
)


def test_json_lines_name_source_line_key_id_and_top_k(trained_run, drawings_file):
    done = sketch("predict", "--model", str(trained_run), "--json", "--top-k", "2", str(drawings_file))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["source"], r["line"], r["key_id"]) for r in rows] == [
        (str(drawings_file), 1, "1"),
        (str(drawings_file), 2, None),
        (str(drawings_file), 3, "3"),
    ]
    assert all(len(r["predictions"]) == 2 for r in rows)
    assert [r["predictions"][0]["label"] for r in rows] == ["circle", "square", "zigzag"]
    for row in rows:
        probabilities = [p["probability"] for p in row["predictions"]]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < probabilities[0] <= 1


def test_standard_input_and_both_backends_agree(trained_run, drawings_file):
    text = drawings_file.read_text()
    by_litert = sketch("predict", "--model", str(trained_run), "--json", "-", stdin=text)
    by_tensorflow = sketch(
        "predict", "--model", str(trained_run), "--json", "-", stdin=text, env={"SKETCH_BACKEND": "tensorflow"}
    )
    assert by_litert.returncode == 0 and by_tensorflow.returncode == 0, by_tensorflow.stderr
    top = [
        [json.loads(line)["predictions"][0]["label"] for line in done.stdout.splitlines()]
        for done in (by_litert, by_tensorflow)
    ]
    assert top[0] == top[1] and len(top[0]) == 3
    assert json.loads(by_litert.stdout.splitlines()[0])["source"] == "<stdin>"


def test_litert_path_never_imports_tensorflow(trained_run, drawings_file):
    probe = (
        "import sys; from click.testing import CliRunner; from sketchrnn_cli.cli import main\n"
        f"result = CliRunner().invoke(main, ['predict', '--model', {str(trained_run)!r}, {str(drawings_file)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_show_draws_the_sketch_beside_the_table(trained_run, drawings_file):
    done = sketch("predict", "--model", str(trained_run), "--show", str(drawings_file))
    assert done.returncode == 0, done.stderr
    assert any("\u2800" < ch <= "\u28ff" for ch in done.stdout)
    assert "circle" in done.stdout and f"{drawings_file}:1" in done.stdout


def test_a_known_square_renders_as_these_braille_lines():
    square = parse_drawing([[[0, 10, 10, 0, 0], [0, 0, 10, 10, 0]]])
    assert braille(square, width=4, height=2) == ["⡏⠉⠉⢹", "⣇⣀⣀⣸"]


def test_progressive_gives_a_guess_after_every_stroke(trained_run, tmp_path):
    rng = np.random.default_rng(3)
    circle, zigzag = shape_drawing("circle", rng)[0], shape_drawing("zigzag", rng)[0]
    path = tmp_path / "two.ndjson"
    path.write_text(json.dumps({"word": "circle", "key_id": "9", "drawing": [circle, zigzag]}) + "\n")
    done = sketch("predict", "--model", str(trained_run), "--json", "--progressive", str(path))
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert [s["strokes"] for s in row["by_stroke"]] == [1, 2]
    assert row["by_stroke"][0]["label"] == "circle"
    table = sketch("predict", "--model", str(trained_run), "--progressive", str(path))
    assert "the right answer (circle) first appears after stroke 1" in table.stdout


def test_bad_lines_get_file_and_line_and_good_ones_are_still_classified(trained_run, drawings_file):
    with drawings_file.open("a") as out:
        out.write('{"drawing": [[[1, 2], [3]]]}\n{not json\n\n[]\n')
    done = sketch("predict", "--model", str(trained_run), "--json", str(drawings_file))
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 3
    errors = done.stderr.strip().splitlines()
    assert errors == [
        f"error: {drawings_file}:4: stroke 0 has no points or x/y of different lengths",
        f"error: {drawings_file}:5: bad JSON (Expecting property name enclosed in double quotes at column 2)",
        f"error: {drawings_file}:7: drawing is empty",
    ]
    assert "Traceback" not in done.stderr


def test_a_file_that_cannot_be_read_is_one_line_before_anything_is_classified(trained_run, drawings_file):
    """Issue 29, #7: `error: nothere.ndjson:0: cannot read (...)`, lower-case and at a line 0,
    after the other files' answers."""
    done = sketch("predict", "--model", trained_run, drawings_file, str(drawings_file) + ".missing")
    one_error_line(done, f"{drawings_file}.missing: no such file or directory")
    assert done.stdout == ""


@pytest.mark.parametrize(
    "content, looks_like",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "looks like a PNG image, not drawings"),
        (b"PK\x03\x04" + b"\0" * 500, "looks like a zip archive"),
        (b"\x1c\0\0\0TFL3" + b"\0" * 100, "looks like a TFLite model"),
        (
            b'{\n  "word": "cat",\n  "drawing": [\n    [[1, 2], [3, 4]]\n  ]\n}\n',
            "none of its first 6 lines is a drawing",
        ),
        (b'{"drawing": [[10, 20], [30, 40]]}\n{"drawing": [[11, 21], [31, 41]]}\n', "none of its first 2 lines"),
    ],
    ids=["image", "archive", "model", "pretty-printed JSON", "points, not strokes"],
)
def test_the_wrong_kind_of_file_is_one_line_saying_what_a_line_should_be(trained_run, tmp_path, content, looks_like):
    """Issue 29, #2: an image gave 1,029 lines of `line is not UTF-8 text`, a pretty-printed JSON
    file 4 `bad JSON` lines, points instead of strokes a message without the shape expected."""
    path = tmp_path / "input"
    path.write_bytes(content)
    done = sketch("predict", "--model", trained_run, path)
    line = one_error_line(done, looks_like, "one JSON object per line, its strokes as [[x0, x1, ...], [y0, y1, ...]]")
    if looks_like.endswith("first 2 lines"):  # points where strokes should be: the shape expected
        assert "stroke 0 must be [[x0, x1, ...], [y0, y1, ...]] (its xs, then its ys), got [10, 20]" in line
    assert done.stdout == ""
    help_text = sketch("predict", "--help").stdout
    assert '{"word": "cat", "drawing": [[[10, 60, 110], [80, 20, 80]], [[30, 90], [60, 60]]]}' in help_text


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda run: shutil.rmtree(run), "no such run folder"),
        (lambda run: (run / "config.json").unlink(), "config.json: missing"),
        (
            lambda run: (run / "config.json").write_text(
                re.sub('"format_version": [0-9]+', '"format_version": 99', (run / "config.json").read_text())
            ),
            "format_version 99 is not supported",
        ),
        (lambda run: (run / "labels.txt").write_text("circle\nsquare\n"), "labels.txt: 2 labels that differ"),
        (
            lambda run: (run / "model.tflite").write_bytes(b"not a flatbuffer"),
            "model.tflite: not a readable LiteRT model",
        ),
    ],
)
def test_a_broken_model_folder_is_one_clear_error(trained_run, drawings_file, tmp_path, damage, message):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    damage(run)
    done = sketch("predict", "--model", str(run), str(drawings_file))
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_truncated_keras_model_is_one_clear_error(trained_run, drawings_file, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    done = sketch("predict", "--backend", "tensorflow", "--model", str(run), str(drawings_file))
    assert done.returncode == 1
    assert "model.keras: cannot load weights" in done.stderr and "Traceback" not in done.stderr


def test_without_a_model_the_error_says_what_to_do(tmp_path, drawings_file):
    done = subprocess.run([*SKETCH, "predict", str(drawings_file)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert "no trained run under runs/" in done.stderr


@pytest.mark.parametrize("content", ["", "\n\n", "   \n"])
def test_an_input_without_drawings_says_so_and_fails(trained_run, tmp_path, content):
    path = tmp_path / "empty.ndjson"
    path.write_text(content)
    done = sketch("predict", "--model", str(trained_run), str(path))
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: no drawings in {path}"


def test_a_closed_pipe_stops_the_table_output_quietly_too(trained_run):
    """Red team 2, #14: `sketch predict FILE | head -1` exited 1 with the table output (141 with --json)."""
    lines = "".join(
        json.dumps({"key_id": str(i), "drawing": shape_drawing("circle", np.random.default_rng(i))}) + "\n"
        for i in range(300)
    )
    done = subprocess.run(
        f"{' '.join(SKETCH)} predict --model {trained_run} - | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        input=lines,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert done.returncode == 141 and done.stdout.count("\n") == 1
    assert done.stderr == ""


def test_a_drawing_too_small_to_scale_is_an_error_line_not_nan(run_copy):
    """Red team 1, #5: Degenerate drawings are rejected, never NaN."""
    done = sketch(
        "predict", "--model", run_copy, "--json", "-", stdin='{"drawing":[[[0,1e-320],[0,1e-320]]]}\n' + drawing_line()
    )
    assert done.returncode == 1
    assert "too small to scale" in done.stderr and "NaN" not in done.stdout and "nan" not in done.stdout
    assert len(done.stdout.splitlines()) == 1  # the good drawing after it is still classified


def test_a_tflite_model_of_another_input_width_is_one_line(run_copy):
    """Red team 1, #11: A LiteRT model of another input width."""
    import keras

    from sketchrnn_cli.model.model_io import write_tflite

    strokes = keras.Input((None, 4), name="strokes")
    length = keras.Input((), dtype="int32", name="length")
    pooled = keras.layers.GlobalAveragePooling1D()(strokes)
    scaled = keras.layers.Lambda(lambda pair: pair[0] * keras.ops.cast(pair[1][:, None], "float32"))([pooled, length])
    model = keras.Model({"strokes": strokes, "length": length}, keras.layers.Dense(3, activation="softmax")(scaled))
    with pytest.raises(Exception):  # noqa: B017  any failure: our exporter signs [batch, time, 3]: build the file by hand instead
        write_tflite(model, run_copy / "model.tflite")
    import tensorflow as tf

    signature = [
        {
            "strokes": tf.TensorSpec([1, None, 4], tf.float32, name="strokes"),
            "length": tf.TensorSpec([1], tf.int32, name="length"),
        }
    ]
    model.export(str(run_copy / "wide"), format="tf_saved_model", input_signature=signature, verbose=False)
    (run_copy / "model.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(run_copy / "wide")).convert())
    done = sketch("predict", "--model", run_copy, "-", stdin=drawing_line())
    one_error_line(done, "model.tflite: does not match the run's config")


def test_predict_on_a_pipe_answers_each_drawing_at_once_and_stops_cleanly(run_copy):
    """Red team 1, #18: A pipe gets each answer at once; a signal keeps what was printed."""
    process = subprocess.Popen(
        [*SKETCH, "predict", "--model", str(run_copy), "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for index, shape in enumerate(("circle", "square")):
            process.stdin.write(drawing_line(shape, str(index), seed=index))
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 60)  # answered without more input
            assert ready, "no answer within 60 s: results are held back"
            answer = json.loads(process.stdout.readline())
            assert answer["key_id"] == str(index)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 128 + signal.SIGTERM
        assert stderr.strip() == "Error: interrupted"
    finally:
        process.kill()


def test_escape_codes_in_a_key_id_never_reach_the_terminal(run_copy):
    """Red team 1, #22: Cosmetic but real."""
    line = json.dumps({"key_id": "\u001b[2J", "drawing": shape_drawing("circle", np.random.default_rng(0))})
    done = sketch("predict", "--model", run_copy, "-", stdin=line + "\n")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\\x1b[2J" in done.stdout


def test_a_closed_pipe_stops_predict_quietly(run_copy):
    """Red team 1, #22: Cosmetic but real."""
    lines = "".join(drawing_line("circle", str(i), seed=i) for i in range(300))
    done = subprocess.run(
        f"{' '.join(SKETCH)} predict --model {run_copy} --json - | head -1",
        shell=True,
        input=lines,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""


def test_a_byte_order_mark_does_not_fail_the_first_line(run_copy, tmp_path):
    """Red team 1, #22: Cosmetic but real."""
    path = tmp_path / "bom.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + drawing_line().encode())
    done = sketch("predict", "--model", run_copy, "--json", path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["line"] == 1


def test_an_endless_line_is_cut_off_with_bounded_memory(run_copy):
    """Red team 1, #15: Bounded memory on hostile files; hostile strings are skipped, not fatal."""
    import io

    from sketchrnn_cli.data.reader import lines_of, read_lines

    records = list(
        read_lines(
            lines_of(io.BytesIO(b"x" * 5000 + b"\n" + drawing_line().encode()), limit=1000), "endless", limit=1000
        )
    )
    assert len(records) == 1 and "longer than 1,000 bytes" in records[0].reason


def test_the_table_never_shows_100_percent_for_a_guess(trained_run, drawings_file):
    """Issue 21: a guess under 99.95% never reads 100.0% (the table shows >99.9% at most)."""
    done = sketch("predict", "--model", str(trained_run), str(drawings_file))
    assert done.returncode == 0, done.stderr
    assert "100.0%" not in done.stdout and "%" in done.stdout


def test_an_onnx_export_gives_litert_s_answers_and_a_run_folder_holding_one_works_too(
    onnx_export, run_copy, drawings_file, shapes_data
):
    assert {"model.onnx", "labels.txt", "config.json"} <= {p.name for p in onnx_export.iterdir()}
    by_onnx = sketch("predict", "--model", onnx_export, "--backend", "onnx", "--json", drawings_file)
    by_litert = sketch("predict", "--model", run_copy, "--backend", "litert", "--json", drawings_file)
    assert by_onnx.returncode == 0 and by_litert.returncode == 0, by_onnx.stderr + by_litert.stderr
    for mine, theirs in zip(by_onnx.stdout.splitlines(), by_litert.stdout.splitlines(), strict=True):
        mine, theirs = json.loads(mine)["predictions"], json.loads(theirs)["predictions"]
        assert [p["label"] for p in mine] == [p["label"] for p in theirs]
        np.testing.assert_allclose([p["probability"] for p in mine], [p["probability"] for p in theirs], atol=1e-4)
    (run_copy / "model.onnx").write_bytes((onnx_export / "model.onnx").read_bytes())
    scored = {
        backend: json.loads(
            sketch("evaluate", run_copy, "--data-dir", shapes_data, "--backend", backend, "--json").stdout
        )
        for backend in ("onnx", "litert")
    }
    assert scored["onnx"]["backend"] == "onnx" and scored["onnx"]["top1"] == scored["litert"]["top1"]


def test_an_export_folder_works_as_model_with_the_engine_of_what_it_holds(onnx_export, trained_run, drawings_file):
    """Issue 29, #3: `sketch predict --model onnx/` said `onnx/model.keras: missing; did training
    finish?`, though the README says an export folder works as --model."""
    by_auto = sketch("predict", "--model", onnx_export, "--json", drawings_file)
    assert by_auto.returncode == 0, by_auto.stderr
    assert f"{onnx_export} holds no model.keras: running its model.onnx on onnxruntime" in by_auto.stderr
    by_run = sketch("predict", "--model", trained_run, "--json", drawings_file)
    assert "holds no model.keras" not in by_run.stderr
    for mine, theirs in zip(by_auto.stdout.splitlines(), by_run.stdout.splitlines(), strict=True):
        assert [p["label"] for p in json.loads(mine)["predictions"]] == [
            p["label"] for p in json.loads(theirs)["predictions"]
        ]
    scored = sketch("evaluate", onnx_export, "--data", drawings_file, "--json")
    assert scored.returncode == 0 and json.loads(scored.stdout)["backend"] == "onnx", scored.stderr
    server, url = start_draw(onnx_export, drawings_file.with_name("saved.ndjson"))
    try:
        assert url.startswith("http://")
    finally:
        server.terminate()
        _, said = server.communicate(timeout=30)
    assert "holds no model.keras: running its model.onnx on onnxruntime" in said


def test_a_missing_or_foreign_onnx_model_is_one_line_naming_it(run_copy, drawings_file):
    missing = sketch("predict", "--model", run_copy, "--backend", "onnx", drawings_file)
    one_error_line(missing, "model.onnx: missing; make it with sketch export")
    (run_copy / "model.onnx").write_bytes(b"not a model")
    foreign = sketch("predict", "--model", run_copy, "--backend", "onnx", drawings_file)
    one_error_line(foreign, "model.onnx: not a readable ONNX model")


def test_a_guess_under_the_run_s_threshold_says_it_is_not_sure_and_names_what_the_model_knows(
    run_copy, trained_run, tmp_path
):
    """Issue 29, #1: a drawn house came out `paint can 35.2%` without a word, and --progressive
    said `the right answer (house) first appears never`, as if house were a category."""
    import dataclasses

    from sketchrnn_cli.artifacts import RunFiles, read_config, write_config

    recorded = read_config(RunFiles(trained_run)).model.unsure_below
    assert 0 < recorded < 1  # chosen on the valid split when training ended
    config = read_config(RunFiles(run_copy))
    write_config(
        RunFiles(run_copy), dataclasses.replace(config, model=dataclasses.replace(config.model, unsure_below=0.999))
    )
    house = tmp_path / "house.ndjson"
    house.write_text(drawing_line("square", key_id="h").replace('"word": "square"', '"word": "house"'))
    table = sketch("predict", "--model", run_copy, "--progressive", house)
    assert table.returncode == 0, table.stderr
    said = " ".join(table.stdout.split())
    assert "not sure what that is: this model knows 3 categories: circle, zigzag, square" in said
    assert "house is not a category this model knows" in said and "first appears never" not in said
    as_json = json.loads(sketch("predict", "--model", run_copy, "--json", house).stdout)
    assert as_json["unsure"] is True and set(as_json) == {"source", "line", "key_id", "predictions", "unsure"}
    sure = json.loads(sketch("predict", "--model", trained_run, "--json", house).stdout)
    assert sure["unsure"] is (sure["predictions"][0]["probability"] < recorded)


def test_a_named_pipe_is_read_as_it_arrives_not_opened_twice(trained_run, tmp_path):
    """Checking the inputs before reading must not open a named pipe (it would wait for, then
    lose, its writer)."""
    import os
    import threading

    pipe = tmp_path / "drawings.fifo"
    os.mkfifo(pipe)

    def write() -> None:
        with pipe.open("w") as out:
            out.write(drawing_line("circle"))

    writer = threading.Thread(target=write)
    writer.start()
    done = sketch("predict", "--model", trained_run, "--json", pipe, timeout=60)
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1

"""The red team's findings, one test each (numbers are the issue's): every one failed before its fix.

Each runs `sketch` as a user would (subprocesses, signals, planted links, damaged files).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import shape_drawing

SKETCH = [sys.executable, "-m", "sketchrnn_cli.cli"]
TINY = ["--conv-filters", "16,16", "--conv-strides", "1,2", "--rnn-units", "16", "--batch-size", "16",
        "--learning-rate", "0.01", "--patience", "100", "--image-side", "12"]


def sketch(*args, stdin=None, cwd=None, timeout=300):
    return subprocess.run([*SKETCH, *map(str, args)], input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def one_error_line(done, *fragments):
    """The command failed with one error line (after any progress notes), holding every
    fragment, and no traceback."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stdout
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == lines[-1:] and "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def drawing_line(shape="circle", key_id="1", seed=0) -> str:
    rng = np.random.default_rng(seed)
    return json.dumps({"word": shape, "key_id": key_id, "drawing": shape_drawing(shape, rng)}) + "\n"


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


# 1. Data loss: dotfiles of a folder that is not a run.

def test_1_train_refuses_a_folder_that_is_not_a_run_and_deletes_nothing(shapes_data, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".env").write_text("SECRET=1\n")
    (folder / ".gitignore").write_text("*.pyc\n")
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", folder, *TINY, "--epochs", "1")
    one_error_line(done, f"{folder} is not empty and holds no run")
    assert sorted(p.name for p in folder.iterdir()) == [".env", ".gitignore"]


def test_1_resuming_a_run_keeps_files_the_user_put_in_it(shapes_data, run_copy):
    (run_copy / ".env").write_text("SECRET=1\n")
    (run_copy / ".sketch-tmp-history.abc.json").write_text("{}")  # what a killed writer of ours leaves
    (run_copy / "summary.json").unlink()  # so that --resume has something to finish
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    assert done.returncode == 0, done.stderr
    assert (run_copy / ".env").read_text() == "SECRET=1\n"
    assert not (run_copy / ".sketch-tmp-history.abc.json").exists()


# 4. Writes never follow symbolic links.

def test_4_export_replaces_planted_links_instead_of_writing_through_them(run_copy, tmp_path):
    out = tmp_path / "serving"
    out.mkdir()
    victims = {name: tmp_path / f"victim-{name}" for name in ("labels.txt", "config.json", "model.tflite")}
    for name, victim in victims.items():
        victim.write_text("precious\n")
        (out / name).symlink_to(victim)
    done = sketch("export", run_copy, "--format", "tflite", "--out", out)
    assert done.returncode == 0, done.stderr
    assert all(victim.read_text() == "precious\n" for victim in victims.values())
    assert not any((out / name).is_symlink() for name in victims)
    assert (out / "labels.txt").read_text() == (run_copy / "labels.txt").read_text()


def test_4_a_planted_lock_link_is_refused_and_its_target_untouched(shapes_data, run_copy, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run_copy / ".lock").unlink(missing_ok=True)
    (run_copy / ".lock").symlink_to(victim)
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    one_error_line(done, ".lock", "symbolic link")
    assert victim.read_text() == "precious\n"


# 5. Degenerate drawings are rejected, never NaN.

def test_5_a_drawing_too_small_to_scale_is_an_error_line_not_nan(run_copy):
    done = sketch("predict", "--model", run_copy, "--json", "-",
                  stdin='{"drawing":[[[0,1e-320],[0,1e-320]]]}\n' + drawing_line())
    assert done.returncode == 1
    assert "too small to scale" in done.stderr and "NaN" not in done.stdout and "nan" not in done.stdout
    assert len(done.stdout.splitlines()) == 1  # the good drawing after it is still classified


def test_5_a_loss_that_is_not_a_number_stops_training_with_a_clear_message(shapes_data, run_copy):
    import h5py

    weights = run_copy / "checkpoint" / "last.weights.h5"
    with h5py.File(weights, "r+") as saved:
        def poison(name, item):
            if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" and "optimizer" not in name:
                item[...] = np.nan
        saved.visititems(poison)
    progress = run_copy / "checkpoint" / "progress.json"
    state = json.loads(progress.read_text())
    state.update(stopped="", epoch=1, best_epoch=1)
    progress.write_text(json.dumps(state))
    for name in ("summary.json", "model.keras", "model.tflite"):
        (run_copy / name).unlink()
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    one_error_line(done, "training diverged", "not a number in epoch 2", "Lower --learning-rate")
    assert not (run_copy / "model.keras").exists()


# 8, 9, 10. A hand-edited config.json: every field bounded, nesting bounded.

@pytest.mark.parametrize("section, key, value, message", [
    ("train", "learning_rate", -1, "train.learning_rate must be in (0, 1], got -1"),
    ("train", "epochs", -1, "train.epochs must be in [1, 100000], got -1"),
    ("train", "batch_size", 0, "train.batch_size must be in [1, 8192], got 0"),
    ("train", "batch_size", -5, "train.batch_size must be in [1, 8192], got -5"),
    ("data", "max_length", 1, "data.max_length must be in [2, 10000], got 1"),
    ("model", "image_side", 100000, "model.image_side must be in [0, 64], got 100000"),
])
def test_8_10_an_out_of_bounds_config_value_is_one_line_naming_the_field(shapes_data, run_copy, section, key,
                                                                         value, message):
    config = json.loads((run_copy / "config.json").read_text())
    config[section][key] = value
    (run_copy / "config.json").write_text(json.dumps(config))
    (run_copy / "summary.json").unlink()
    for done in (sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume"),
                 sketch("predict", "--model", run_copy, "-", stdin=drawing_line())):
        one_error_line(done, str(run_copy / "config.json"), message)


def test_9_a_config_nested_absurdly_deep_is_one_line_everywhere(shapes_data, run_copy, tmp_path):
    (run_copy / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(run_copy, runs / "deep")
    for done in (sketch("predict", "--model", run_copy, "-", stdin=drawing_line()),
                 sketch("evaluate", run_copy, "--data-dir", shapes_data),
                 sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")):
        one_error_line(done, "config.json", "nested too deeply")
    every = sketch("evaluate-all", runs, "--data-dir", shapes_data)
    assert every.returncode == 1 and "nested too deeply" in every.stderr and "Traceback" not in every.stderr


# 11. A LiteRT model of another input width.

def test_11_a_tflite_model_of_another_input_width_is_one_line(run_copy):
    import keras

    from sketchrnn_cli.serving import write_tflite

    strokes = keras.Input((None, 4), name="strokes")
    length = keras.Input((), dtype="int32", name="length")
    pooled = keras.layers.GlobalAveragePooling1D()(strokes)
    scaled = keras.layers.Lambda(lambda pair: pair[0] * keras.ops.cast(pair[1][:, None], "float32"))([pooled, length])
    model = keras.Model({"strokes": strokes, "length": length}, keras.layers.Dense(3, activation="softmax")(scaled))
    with pytest.raises(Exception):  # our exporter signs [batch, time, 3]: build the file by hand instead
        write_tflite(model, run_copy / "model.tflite")
    import tensorflow as tf

    signature = [{"strokes": tf.TensorSpec([1, None, 4], tf.float32, name="strokes"),
                  "length": tf.TensorSpec([1], tf.int32, name="length")}]
    model.export(str(run_copy / "wide"), format="tf_saved_model", input_signature=signature, verbose=False)
    (run_copy / "model.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(run_copy / "wide")).convert())
    done = sketch("predict", "--model", run_copy, "-", stdin=drawing_line())
    one_error_line(done, "model.tflite: does not match the run's config")


# 12. evaluate-all keeps its table when one run is damaged.

def test_12_evaluate_all_keeps_the_table_and_names_the_damaged_run(shapes_data, trained_run, tmp_path):
    runs = tmp_path / "runs"
    for name in ("good", "damaged"):
        shutil.copytree(trained_run, runs / name)
    (runs / "damaged" / "summary.json").write_bytes(b"\xff\xfe not json")
    done = sketch("evaluate-all", runs, "--data-dir", shapes_data)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "good" in done.stdout and "conv-lstm" in done.stdout
    assert "summary.json" in done.stderr and "1 of 2 run(s) could not be evaluated: damaged" in done.stderr


# 13. sketch info with damaged metadata.

def test_13_info_names_a_damaged_dataset_and_still_reports(shapes_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data)
    metadata = next(data.rglob("metadata.json"))
    metadata.write_text('{"categories": ["circle"], "counts": 7, "max_length": 250}')
    done = sketch("info", "--data-dir", data)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{metadata}: damaged" in done.stderr
    assert "tensorflow" in done.stdout and "damaged; run sketch download again" in done.stdout


# 18. A pipe gets each answer at once; a signal keeps what was printed.

def test_18_predict_on_a_pipe_answers_each_drawing_at_once_and_stops_cleanly(run_copy):
    process = subprocess.Popen([*SKETCH, "predict", "--model", str(run_copy), "--json", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for index, shape in enumerate(("circle", "square")):
            process.stdin.write(drawing_line(shape, str(index), seed=index))
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())  # without waiting for more input
            assert answer["key_id"] == str(index)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 128 + signal.SIGTERM
        assert stderr.strip() == "Error: interrupted"
    finally:
        process.kill()


# 19. A FIFO in an evaluate --data folder.

def test_19_evaluate_reads_regular_files_only(run_copy, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "drawings.ndjson").write_text(drawing_line("circle", "1") + drawing_line("square", "2", seed=1))
    os.mkfifo(folder / "trap.ndjson")
    done = sketch("evaluate", run_copy, "--data", folder, "--backend", "litert", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 2
    named = sketch("evaluate", run_copy, "--data", folder / "trap.ndjson", "--backend", "litert", timeout=60)
    one_error_line(named, "trap.ndjson: not a regular file")


# 20. Every interrupted run can be resumed from its own message.

def test_20_a_run_interrupted_before_its_first_epoch_ends_resumes(shapes_data, tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen([*SKETCH, "train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), *TINY,
                                "--epochs", "2"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "config.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if (run_dir / "checkpoint").exists():
        pytest.skip("the first epoch ended before the signal arrived")
    assert process.returncode == 130
    assert f"Continue with: sketch train --resume --run-dir {run_dir}" in stderr
    resumed = sketch("train", "--data-dir", shapes_data, "--run-dir", run_dir, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads((run_dir / "history.json").read_text())) == 2


def test_20_a_run_interrupted_while_saving_its_files_finishes_them_on_resume(shapes_data, run_copy):
    for name in ("model.tflite", "history.json", "summary.json"):
        (run_copy / name).unlink()
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    assert done.returncode == 0, done.stderr
    for name in ("model.keras", "model.tflite", "history.json", "summary.json"):
        assert (run_copy / name).is_file(), name
    again = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    one_error_line(again, "finished training already")


# 21. A full disk names the path and says what to do.

@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs, mounted for the test (root only); skips where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.decode().strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_21_a_full_disk_is_one_line_with_the_path_and_a_hint(run_copy, tiny_disk):
    (tiny_disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - 64 * 1024))
    done = sketch("export", run_copy, "--format", "saved_model", "--out", tiny_disk / "serving")
    one_error_line(done, str(tiny_disk / "serving"), "the disk is full")
    assert not (tiny_disk / "serving" / "saved_model").exists()


# 22. Cosmetic but real.

def test_22_escape_codes_in_a_key_id_never_reach_the_terminal(run_copy):
    line = json.dumps({"key_id": "\u001b[2J", "drawing": shape_drawing("circle", np.random.default_rng(0))})
    done = sketch("predict", "--model", run_copy, "-", stdin=line + "\n")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\\x1b[2J" in done.stdout


def test_22_a_closed_pipe_stops_predict_quietly(run_copy):
    lines = "".join(drawing_line("circle", str(i), seed=i) for i in range(300))
    done = subprocess.run(f"{' '.join(SKETCH)} predict --model {run_copy} --json - | head -1", shell=True,
                          input=lines, capture_output=True, text=True, executable="/bin/bash")
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""


def test_22_a_byte_order_mark_does_not_fail_the_first_line(run_copy, tmp_path):
    path = tmp_path / "bom.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + drawing_line().encode())
    done = sketch("predict", "--model", run_copy, "--json", path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["line"] == 1

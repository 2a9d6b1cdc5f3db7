"""Faults a user meets: killed downloads and trainings, two trainers, damaged run folders."""

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sketchrnn_cli.artifacts import RunFiles

from conftest import (
    SHAPES,
    SKETCH,
    TINY,
    dataset_rows,
    one_error_line,
    sketch,
    training_started,
    write_bucket,
)


def wait_for(condition, timeout=120.0, process=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process ended early: {process.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_download_killed_mid_file_resumes_to_the_same_dataset(tmp_path, http_mirror):
    bucket = write_bucket(tmp_path / "bucket", per_shape=1500)
    slow_url, _ = http_mirror(bucket, delay=0.01)
    data = tmp_path / "data"
    args = ["download", "--data-dir", str(data), "--categories", ",".join(SHAPES), "--workers", "1"]
    process = subprocess.Popen([*SKETCH, *args, "--source", slow_url], stderr=subprocess.PIPE, text=True)
    part = data / "downloads/full/simplified/zigzag.ndjson.part"
    wait_for(lambda: part.exists() and part.stat().st_size > 20_000, process=process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = data / "downloads/full/simplified/circle.ndjson"
    assert finished.read_bytes() == (bucket / "full/simplified/circle.ndjson").read_bytes()
    assert not (data / "downloads/full/simplified/zigzag.ndjson").exists()

    url, handler = http_mirror(bucket)
    resumed = subprocess.run([*SKETCH, *args, "--source", url], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert [r[0] for r in handler.requests] == ["/full/simplified/zigzag.ndjson", "/full/simplified/square.ndjson"]
    assert handler.requests[0][1].startswith("bytes=")  # a Range request: only the rest was fetched

    fresh = subprocess.run(
        [
            *SKETCH,
            "download",
            "--data-dir",
            str(tmp_path / "fresh"),
            "--categories",
            ",".join(SHAPES),
            "--source",
            str(bucket),
        ],
        capture_output=True,
        text=True,
    )
    assert fresh.returncode == 0, fresh.stderr
    assert dataset_rows(data) == dataset_rows(tmp_path / "fresh")


def progress_epoch(run_dir: Path) -> int:
    progress = run_dir / "checkpoint" / "progress.json"
    try:
        return json.loads(progress.read_text())["epoch"]
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_training_killed_during_an_epoch_resumes_from_the_last_finished_one(shapes_data, tmp_path, sig):
    run_dir = tmp_path / "run"
    args = ["train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), *TINY]
    # SIGINT ignored on the way in, as a shell does for background jobs: sketch must still stop.
    process = subprocess.Popen(
        [*SKETCH, *args, "--epochs", "6"],  # killed at epoch 2: four epochs before the end
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    wait_for(lambda: progress_epoch(run_dir) >= 2, process=process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    if sig != signal.SIGKILL:
        assert "interrupted; the last checkpoint is saved" in stderr and "Traceback" not in stderr
    saved = progress_epoch(run_dir)
    assert saved >= 2
    assert not (run_dir / "model.keras").exists()  # never a half-written model under the real name

    resumed = subprocess.run(
        [*SKETCH, "train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), "--resume"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((run_dir / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    first_resumed = re.search(r"^epoch +(\d+)/", resumed.stderr, re.MULTILINE)
    assert first_resumed is not None and int(first_resumed.group(1)) == saved + 1
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == [".lock"]


def test_a_second_trainer_on_the_same_run_folder_is_refused(shapes_data, tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [*SKETCH, "train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), *TINY, "--epochs", "200"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: progress_epoch(run_dir) >= 1, process=process)
        second = subprocess.run(
            [*SKETCH, "train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), "--resume"],
            capture_output=True,
            text=True,
        )
        assert second.returncode == 1
        assert f"{run_dir} is in use by sketch train (pid {process.pid})" in second.stderr
        assert process.poll() is None  # the first one goes on
    finally:
        process.kill()
        process.wait()


def test_a_bad_model_option_is_one_clear_error_and_the_run_folder_stays_usable(shapes_data, tmp_path):
    run_dir = tmp_path / "run"
    args = [*SKETCH, "train", "--data-dir", str(shapes_data), "--run-dir", str(run_dir), *TINY, "--epochs", "1"]
    bad = subprocess.run([*args, "--image-side", "4"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "Error: image_side 4 is too small for 3 2x2 poolings; use at least 8, or 0 for no image"
    )
    assert not (run_dir / "config.json").exists()
    good = subprocess.run([*args, "--image-side", "0"], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert json.loads((run_dir / "config.json").read_text())["model"]["image_side"] == 0


def test_a_config_with_a_missing_key_is_one_clear_error(trained_run, tmp_path):

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    config = json.loads((run / "config.json").read_text())
    del config["model"]["rnn_units"]
    (run / "config.json").write_text(json.dumps(config))
    done = subprocess.run([*SKETCH, "evaluate", str(run), "--data-dir", "nowhere"], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: {run / 'config.json'}: config.model has no key 'rnn_units'"


def test_loading_a_run_never_deserialises_code_from_the_model_file(trained_run, tmp_path):
    """A model.keras whose architecture differs from config.json (e.g. one carrying a Lambda
    layer) is not built from the file: its weights simply do not fit, and that is one error."""

    import keras

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    strokes = keras.Input((None, 3), name="strokes")
    evil = keras.layers.Lambda(lambda x: x * 2)(strokes)  # would run arbitrary code if deserialised
    keras.Model(strokes, keras.layers.Dense(3)(evil)).save(run / "model.keras")
    done = subprocess.run(
        [*SKETCH, "predict", "--backend", "tensorflow", "--model", str(run), "-"],
        input="[[[0, 5], [0, 5]]]\n",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "model.keras: cannot load weights" in done.stderr and "Traceback" not in done.stderr
    assert RunFiles(run).config.is_file()


def test_a_run_interrupted_before_its_first_epoch_ends_resumes(shapes_data, tmp_path):
    """Red team 1, #20: Every interrupted run can be resumed from its own message."""
    run_dir = tmp_path / "run"
    process = training_started(shapes_data, run_dir, epochs=2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if (run_dir / "checkpoint").exists():
        pytest.skip("the first epoch ended before the signal arrived")
    assert process.returncode == 130, stderr
    # Red team 2, #15: the same stop said "the last finished epoch is saved" when none had finished.
    assert "before the first checkpoint" in stderr and "last checkpoint is saved" not in stderr
    assert f"Continue with: sketch train --resume --run-dir {run_dir}" in stderr
    resumed = sketch("train", "--data-dir", shapes_data, "--run-dir", run_dir, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads((run_dir / "history.json").read_text())) == 2


def test_a_run_interrupted_while_saving_its_files_finishes_them_on_resume(shapes_data, run_copy):
    """Red team 1, #20: Every interrupted run can be resumed from its own message."""
    for name in ("model.tflite", "history.json", "summary.json"):
        (run_copy / name).unlink()
    done = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    assert done.returncode == 0, done.stderr
    for name in ("model.keras", "model.tflite", "history.json", "summary.json"):
        assert (run_copy / name).is_file(), name
    again = sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume")
    one_error_line(again, "finished training already")

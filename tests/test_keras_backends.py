"""Training on Keras's JAX backend in an environment without TensorFlow (`pip install ".[jax]"`,
built by `make test` in .venv-jax), and its weights served like any run's."""

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import SHAPES, SKETCH, drawing_line, free_ports, sketch_without_tensorflow, start_draw

JAX_VENV = Path(os.environ.get("SKETCH_JAX_VENV", Path(__file__).resolve().parents[1] / ".venv-jax")).absolute()


@pytest.fixture(scope="module")
def jax_sketch() -> Path:
    return sketch_without_tensorflow(JAX_VENV)


def jax_train(jax_sketch: Path, data: Path, run: Path, *extra: str, env=None) -> subprocess.CompletedProcess:
    """`sketch train --keras-backend jax` of a small model, in the environment without TensorFlow."""
    small = ["--batch-size", "16", "--learning-rate", "0.01", "--conv-filters", "16,16", "--rnn-units", "16"]
    command = [str(jax_sketch), "train", "--keras-backend", "jax", "--data-dir", str(data), "--run-dir", str(run)]
    return subprocess.run(
        [*command, *small, "--image-side", "12", *extra], capture_output=True, text=True, timeout=600, env=env
    )


def test_a_jax_run_evaluates_predicts_and_serves_without_tensorflow_as_tensorflow_would(
    jax_sketch, shapes_data, tmp_path
):
    run = tmp_path / "jax-run"
    done = jax_train(jax_sketch, shapes_data, run, "--epochs", "8")
    assert done.returncode == 0, done.stderr
    assert "training on CPU (JAX sees no GPU)" in done.stderr
    assert json.loads((run / "summary.json").read_text())["epochs_run"] == 8
    assert not (run / "model.tflite").exists()  # written by sketch export, where TensorFlow is
    assert json.loads((run / "summary.json").read_text())["tflite"].startswith("not written (no TensorFlow here)")

    # Where it trained, without TensorFlow: evaluate, report, predict and draw on Keras (JAX).
    def jax(*args):
        return subprocess.run([str(jax_sketch), *map(str, args)], capture_output=True, text=True, timeout=300)

    scored = jax("evaluate", run, "--data-dir", shapes_data, "--json", "--report", tmp_path / "report.html")
    assert scored.returncode == 0, scored.stderr
    on_jax = json.loads(scored.stdout)
    assert on_jax["backend"] == "keras" and on_jax["top1"] >= 0.6  # three easy shapes, eight short epochs
    assert (tmp_path / "report.html").read_text().count("<svg") >= 3
    on_tensorflow = json.loads(
        subprocess.run(
            [*SKETCH, "evaluate", str(run), "--data-dir", str(shapes_data), "--json", "--backend", "tensorflow"],
            capture_output=True,
            text=True,
        ).stdout
    )
    assert on_jax["top1"] == on_tensorflow["top1"] and on_jax["count"] == on_tensorflow["count"]
    drawings = tmp_path / "d.ndjson"
    drawings.write_text("".join(drawing_line(shape, str(i), seed=i) for i, shape in enumerate(SHAPES * 3)))
    predicted = jax("predict", "--model", run, "--json", "--top-k", "3", drawings)
    assert predicted.returncode == 0, predicted.stderr
    by_tensorflow = subprocess.run(
        [*SKETCH, "predict", "--model", str(run), "--json", "--top-k", "3", "--backend", "tensorflow", str(drawings)],
        capture_output=True,
        text=True,
    )
    for mine, theirs in zip(predicted.stdout.splitlines(), by_tensorflow.stdout.splitlines(), strict=True):
        mine, theirs = json.loads(mine)["predictions"], json.loads(theirs)["predictions"]
        assert [p["label"] for p in mine] == [p["label"] for p in theirs]
        np.testing.assert_allclose([p["probability"] for p in mine], [p["probability"] for p in theirs], atol=1e-3)
    progressive = jax("predict", "--model", run, "--progressive", "--json", drawings)
    assert progressive.returncode == 0 and "by_stroke" in progressive.stdout, progressive.stderr
    process, url = start_draw(run, tmp_path / "mine.ndjson", command=[str(jax_sketch)])
    try:
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        request = urllib.request.Request(
            url + "api/predict",
            data=json.dumps({"drawing": [[[0, 50, 100, 150], [0, 80, 0, 80]]], "k": 2}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read())["predictions"][0]["label"] in SHAPES
    finally:
        process.terminate()
        process.wait(timeout=30)

    # Where TensorFlow is, sketch export writes model.tflite; then LiteRT predicts there too.
    exported = subprocess.run([*SKETCH, "export", str(run), "--out", str(run)], capture_output=True, text=True)
    assert exported.returncode == 0 and (run / "model.tflite").is_file(), exported.stderr
    predicted = jax("predict", "--model", run, "--json", drawings)
    assert predicted.returncode == 0, predicted.stderr
    assert all(json.loads(line)["predictions"][0]["label"] in SHAPES for line in predicted.stdout.splitlines())


def test_the_keras_predictor_gives_the_tensorflow_predictors_probabilities(trained_run, shapes_data):
    """Padding to a fixed batch and a few lengths (for compiled backends) changes no answer."""
    from sketchrnn_cli.artifacts import RunFiles
    from sketchrnn_cli.data.datastore import dataset_dir
    from sketchrnn_cli.data.flat import FlatSplit
    from sketchrnn_cli.model.inference import KerasPredictor, TensorFlowPredictor
    from sketchrnn_cli.model.model_io import load_trained_model

    config, model = load_trained_model(RunFiles(trained_run))
    split = FlatSplit.open(dataset_dir(shapes_data, "simplified"), "valid", SHAPES)
    sequences = split.sequences(range(len(split)), config.data.max_length)
    by_keras = KerasPredictor(model, len(SHAPES), [64, 256], batch_size=8).predict(sequences)
    by_tensorflow = TensorFlowPredictor(model, len(SHAPES)).predict(sequences)
    assert np.allclose(by_keras, by_tensorflow, atol=1e-5)


def test_a_run_without_model_tflite_gets_one_from_a_tensorflow_process(trained_run, tmp_path):
    """What training on JAX does at its end where TensorFlow is installed too."""
    import shutil

    from sketchrnn_cli.model.train import export_with_tensorflow

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns(".lock", "model.tflite"))
    assert export_with_tensorflow(run) == "written" and (run / "model.tflite").stat().st_size > 0
    (run / "model.keras").write_bytes(b"damaged")
    outcome = export_with_tensorflow(run)
    assert outcome.startswith("not written") and "model.keras" in outcome  # reported, not dropped


PARALLEL_FLAGS = ("--epochs", "2", "--dropout", "0", "--no-augment")  # the same sums, whatever the split


def losses(run: Path) -> list[float]:
    return [epoch["loss"] for epoch in json.loads((run / "history.json").read_text())]


@pytest.fixture(scope="module")
def two_device_run(jax_sketch, shapes_data, tmp_path_factory) -> tuple[Path, str]:
    """(run folder, stderr) of one process training on two host devices (XLA_FLAGS): what the
    one-device run and the two processes in step are compared with."""
    run = tmp_path_factory.mktemp("two-devices") / "run"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = jax_train(jax_sketch, shapes_data, run, *PARALLEL_FLAGS, env=env)
    assert done.returncode == 0, done.stderr
    return run, done.stderr


def test_two_devices_train_data_parallel_with_the_loss_of_one(jax_sketch, shapes_data, tmp_path, two_device_run):
    """Two host devices (XLA_FLAGS), the same global batch: the same gradients up to the order
    of float32 sums (the batch's mean is taken over two halves, then across them), so the loss
    of each epoch matches one device's to well within 1e-3, relative, over a few steps."""
    one = tmp_path / "one-device"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    assert jax_train(jax_sketch, shapes_data, one, *PARALLEL_FLAGS, env=env).returncode == 0
    two, said = two_device_run
    assert "data parallel over 2 devices (cpu:0, cpu:1)" in said
    devices = [json.loads((run / "summary.json").read_text())["devices"] for run in (one, two)]
    assert devices == [1, 2]
    np.testing.assert_allclose(losses(two), losses(one), rtol=1e-3)


def in_step_env(address: str, index: int, processes: int = 2) -> dict:
    """The environment of process ``index`` of ``processes`` training in step (Keras's variables)."""
    return {
        **os.environ,
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": address,
        "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
        "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
    }


def start_in_step(jax_sketch, data, tmp_path, *flags, stderr, own_flags=lambda index: []) -> list[subprocess.Popen]:
    """Two `sketch train` processes in step on 127.0.0.1, each with its own run folder
    (tmp_path / "process0", "process1") and the small model of jax_train; ``stderr(index)``
    says where each one's lines go, ``own_flags(index)`` what each one adds."""
    address = f"127.0.0.1:{free_ports(1)[0]}"
    small = ["--batch-size", "16", "--learning-rate", "0.01", "--conv-filters", "16,16", "--rnn-units", "16"]
    workers = []
    for index in range(2):
        command = [str(jax_sketch), "train", "--keras-backend", "jax", "--data-dir", str(data)]
        run = ["--run-dir", str(tmp_path / f"process{index}"), "--image-side", "12", *small, *flags, *own_flags(index)]
        workers.append(
            subprocess.Popen(
                [*command, *run], env=in_step_env(address, index), stdout=subprocess.DEVNULL, stderr=stderr(index)
            )
        )
    return workers


def test_two_processes_train_in_step_with_the_loss_of_one_process_on_two_devices(
    jax_sketch, shapes_data, tmp_path, two_device_run
):
    """Two processes on 127.0.0.1 joined through the KERAS_DISTRIBUTION_* variables (Gloo
    between CPUs), one device each, each feeding its half of every global batch: the same
    sums as one process with two devices (no augmentation, which each process seeds for its
    own half), so the losses match within the rtol of the two-device test, and the processes
    end with the same weights in their own run folders."""
    workers = start_in_step(jax_sketch, shapes_data, tmp_path, *PARALLEL_FLAGS, stderr=lambda index: subprocess.PIPE)
    said = []
    try:
        said = [worker.communicate(timeout=400)[1].decode() for worker in workers]
    finally:
        for each in workers:
            each.kill()
    assert [worker.returncode for worker in workers] == [0, 0], said
    assert "data parallel over 2 devices in 2 processes, this one 0" in said[0]
    np.testing.assert_allclose(losses(tmp_path / "process0"), losses(two_device_run[0]), rtol=1e-3)
    assert losses(tmp_path / "process0") == losses(tmp_path / "process1")
    assert json.loads((tmp_path / "process1" / "summary.json").read_text())["devices"] == 2


def test_a_process_whose_peer_dies_stops_at_once_with_one_line(jax_sketch, shapes_data, tmp_path):
    """Process 1 is killed after its first epoch: process 0's next collective fails, and it says
    so in one line and ends, instead of waiting for JAX's heartbeat timeout and aborting."""
    import time

    logs = [tmp_path / f"err{index}" for index in range(2)]
    workers = start_in_step(jax_sketch, shapes_data, tmp_path, "--epochs", "500", stderr=lambda i: logs[i].open("w"))
    try:
        deadline = time.monotonic() + 300
        while "epoch   1/" not in logs[1].read_text():
            assert time.monotonic() < deadline and workers[1].poll() is None, logs[1].read_text()
            time.sleep(0.2)
        workers[1].kill()
        assert workers[0].wait(timeout=60) == 1
    finally:
        for each in workers:
            each.kill()
    said = logs[0].read_text()
    assert "Error: process 0 of 2 stopped training" in said and "--resume" in said
    assert "Traceback" not in said and "Terminating process" not in said


def test_processes_in_step_refuse_a_time_budget_before_waiting_for_each_other(jax_sketch, shapes_data, tmp_path):
    env = in_step_env("127.0.0.1:9", 0)
    done = jax_train(jax_sketch, shapes_data, tmp_path / "run", "--max-minutes", "1", env=env)
    assert done.returncode != 0 and "stop them with --epochs" in done.stderr
    assert "Traceback" not in done.stderr


def in_step_outcomes(workers, timeout=300) -> list[tuple[int, str]]:
    try:
        return [(worker.wait(timeout=timeout), "") for worker in workers]
    finally:
        for each in workers:
            each.kill()


@pytest.mark.parametrize(
    "own, differing",
    [
        (lambda index: ["--categories", ("circle,zigzag", "circle,square")[index]], "labels"),
        (lambda index: ["--size", ("small", "default")[index]], "model"),
    ],
    ids=["other categories", "other size"],
)
def test_processes_in_step_that_would_train_different_things_refuse_before_any_step(
    jax_sketch, shapes_data, tmp_path, own, differing
):
    """Red team 3, #8 and #9: processes in step on different categories averaged gradients over
    different label sets for two epochs, then crashed with a 330-line traceback; with different
    --size they died of SIGABRT in Gloo. Now every process refuses, naming what differs."""
    logs = [tmp_path / f"err{index}" for index in range(2)]
    workers = start_in_step(
        jax_sketch, shapes_data, tmp_path, "--epochs", "2", stderr=lambda i: logs[i].open("w"), own_flags=own
    )
    codes = [code for code, _ in in_step_outcomes(workers)]
    for index, log in enumerate(logs):
        said = log.read_text()
        assert codes[index] == 1, said
        assert f"differ in {differing}; start every process with the same data folder and options" in said
        assert "Traceback" not in said and "epoch   1/" not in said
        assert not (tmp_path / f"process{index}").exists()  # a failed start leaves no folder holding only .lock


@pytest.mark.parametrize("stop", ["timeout", signal.SIGTERM, signal.SIGINT])
def test_a_process_waiting_for_peers_that_never_come_says_so_and_stops(jax_sketch, shapes_data, tmp_path, stop):
    """Red team 3, #7: a JAX process waiting for peers that never came printed nothing for 105 s
    and ignored SIGINT and SIGTERM. It says what it waits for, gives up after
    SKETCH_JOIN_TIMEOUT seconds, and stops on a signal with one line and 128 + its number."""
    import time

    log = tmp_path / "err"
    env = {
        **in_step_env(f"127.0.0.1:{free_ports(1)[0]}", 0),
        "SKETCH_JOIN_TIMEOUT": "4" if stop == "timeout" else "120",
    }
    command = [str(jax_sketch), "train", "--keras-backend", "jax", "--data-dir", str(shapes_data)]
    started = time.monotonic()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*command, "--run-dir", str(tmp_path / "run"), "--epochs", "1"], env=env, stderr=stderr
        )
    try:
        while "waiting for the other 1 process(es) at 127.0.0.1:" not in log.read_text():
            assert process.poll() is None and time.monotonic() - started < 120, log.read_text()
            time.sleep(0.1)
        if stop != "timeout":
            time.sleep(1)
            process.send_signal(stop)
        code = process.wait(timeout=60)
    finally:
        process.kill()
    said = log.read_text()
    assert "(process 0 of 2; at most" in said and "Traceback" not in said
    if stop == "timeout":
        assert code == 1 and "could not join the others at 127.0.0.1:" in said and "within 4 s" in said
    else:
        assert code == 128 + stop and "interrupted while process 0 of 2 waited for the others" in said
    assert said.strip().splitlines()[-1].startswith("Error: ")

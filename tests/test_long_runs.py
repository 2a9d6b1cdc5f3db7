"""Long runs: checkpoints within an epoch, and a resumed run going on from there."""

import json
import signal
import subprocess
import time

import numpy as np

from sketchrnn_cli.data.flat import FlatSplit
from sketchrnn_cli.model.pipeline import TRACED_BUCKETS, Feed

from conftest import SKETCH, TINY_MODEL_FLAGS


def test_tensorflow_reads_batches_of_every_padded_length():
    """Keras would fix the lengths it saw in the first two batches; the declared signature does not."""
    from sketchrnn_cli.model.train import _tf_dataset

    rng = np.random.default_rng(0)
    lengths = rng.integers(4, 250, 400)
    split = FlatSplit(
        rng.normal(size=(int(lengths.sum()), 3)).astype(np.float32),
        np.concatenate([[0], np.cumsum(lengths)[:-1]]),
        lengths,
        rng.integers(0, 3, 400),
    )
    feed = Feed(split, 8, 250, seed=0, augment=False, buckets=TRACED_BUCKETS)
    seen = {int(inputs["strokes"].shape[1]) for inputs, _, _ in _tf_dataset(feed, per_step=False).take(40)}
    assert len(seen) >= 4


def test_a_run_stopped_mid_epoch_resumes_from_its_last_checkpoint(shapes_data, tmp_path):
    run = tmp_path / "run"
    command = [
        *SKETCH,
        "train",
        "--data-dir",
        str(shapes_data),
        "--run-dir",
        str(run),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--checkpoint-minutes",
        "0.0002",
        *TINY_MODEL_FLAGS,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    progress = run / "checkpoint" / "progress.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            position = json.loads(progress.read_text())["position"]
        except (OSError, ValueError, KeyError):
            position = 0
        if position >= 5:
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.02)
    assert process.wait(timeout=120) == 128 + signal.SIGTERM, process.stderr.read()
    stopped = json.loads(progress.read_text())
    steps_per_epoch = 17  # 139 train drawings in full batches of 8
    assert stopped["position"] % steps_per_epoch != 0  # the last checkpoint was within an epoch

    done = subprocess.run(
        [*SKETCH, "train", "--resume", "--run-dir", str(run), "--data-dir", str(shapes_data)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    finished = json.loads(progress.read_text())
    # Every epoch after the resume is a whole epoch of batches from where the checkpoint was.
    assert finished["epoch"] == 2
    assert finished["position"] == stopped["position"] + (2 - stopped["epoch"]) * steps_per_epoch

"""TF_CONFIG: two workers on 127.0.0.1 train one model in step (MultiWorkerMirroredStrategy)."""

import json
import os
import subprocess

import numpy as np

from conftest import SKETCH, TINY_MODEL_FLAGS, free_ports


def test_two_workers_end_with_the_same_weights(shapes_data, tmp_path):
    from sketchrnn_cli.artifacts import RunFiles
    from sketchrnn_cli.model.model_io import load_trained_model

    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(
            subprocess.Popen(
                [
                    *SKETCH,
                    "train",
                    "--data-dir",
                    str(shapes_data),
                    "--run-dir",
                    str(tmp_path / f"worker{index}"),
                    "--epochs",
                    "2",
                    "--batch-size",
                    "16",
                    "--device",
                    "cpu",
                    *TINY_MODEL_FLAGS,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outcomes = []
    for worker in workers:
        try:
            _, errors = worker.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            for each in workers:
                each.kill()
            raise
        outcomes.append((worker.returncode, errors))
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert "2 workers from TF_CONFIG" in outcomes[0][1]
    weights = [load_trained_model(RunFiles(tmp_path / f"worker{index}"))[1].get_weights() for index in range(2)]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(*weights))
    trained = load_trained_model(RunFiles(tmp_path / "worker0"))
    assert trained[0].data.labels  # a run like any other

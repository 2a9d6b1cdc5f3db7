"""Your own drawings as categories: `sketch download --own-categories` and `sketch train --init-from`."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sketchrnn_cli.own_words import regroup, word_problem
from conftest import SHAPES, shape_drawing

SKETCH = [sys.executable, "-m", "sketchrnn_cli.cli"]


def own_file(path, words, per_word=30, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for word, shape in words.items():
        for i in range(per_word):
            strokes = shape_drawing(shape, rng)
            raw = [[xs, ys, list(range(0, 10 * len(xs), 10))] for xs, ys in strokes]
            lines.append(json.dumps({"word": word, "key_id": str(10**15 + len(lines)), "drawing": raw}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("word, fine", [("my doodle", True), ("cat", True), ("", False), (" pad", False),
                                        ("a/b", False), (".hidden", False), ("tab\there", False), (None, False)])
def test_a_word_must_be_able_to_name_a_file(word, fine):
    assert (word_problem(word) is None) == fine


def test_regroup_writes_one_file_per_word_and_reports_bad_lines_by_the_users_line(tmp_path):
    source = own_file(tmp_path / "mine.ndjson", {"my ring": "circle", "cat": "square"}, per_word=3)
    with source.open("a") as handle:
        handle.write('{"word": "x/y", "drawing": [[[0, 9], [0, 9]]]}\n{"drawing": [[[0, 9], [0, 9]]]}\nnot json\n')
    regrouped = regroup(source, tmp_path / "out", "simplified", 250)
    assert regrouped.words == ("cat", "my ring")
    assert (tmp_path / "out/full/simplified/my ring.ndjson").read_text().count("\n") == 3
    assert [line.split(": ")[0] for line in regrouped.skipped] == [f"{source}:7", f"{source}:8", f"{source}:9"]


def test_own_words_join_the_data_folders_dataset_and_a_run_learns_them_from_a_trained_one(
        shapes_data, trained_run, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data, symlinks=True)
    mine = own_file(tmp_path / "my_drawings.ndjson", {"my ring": "circle"}, per_word=40)
    done = subprocess.run([*SKETCH, "download", "--data-dir", str(data), "--source", str(mine), "--own-categories"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from sketchrnn_cli.download import dataset_dir, dataset_info

    assert sorted(dataset_info(dataset_dir(data, "simplified")).labels) == sorted([*SHAPES, "my ring"])
    run = tmp_path / "run"
    done = subprocess.run([*SKETCH, "train", "--data-dir", str(data), "--init-from", str(trained_run), "--run-dir",
                           str(run), "--epochs", "1", "--batch-size", "16"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 new category: my ring" in done.stderr
    config = json.loads((run / "config.json").read_text())
    saved = json.loads((trained_run / "config.json").read_text())
    assert config["train"]["init_from"] == str(trained_run) and config["model"] == saved["model"]
    assert config["data"]["input_scale"] == saved["data"]["input_scale"]


def test_initialising_copies_every_layer_and_the_known_categories_outputs(trained_run):
    from sketchrnn_cli.artifacts import RunFiles
    from sketchrnn_cli.model import CLASS_LAYERS, build_model
    from sketchrnn_cli.model_io import initialise_from, load_trained_model

    config, trained = load_trained_model(RunFiles(trained_run))
    old = config.data.labels
    labels = ("my ring", *reversed(old))  # a new category first, the known ones in another order
    model = build_model(config.model, len(labels), config.data.input_scale)
    assert initialise_from(trained_run, model, labels) == ["my ring"]
    for layer in model.layers:
        theirs = trained.get_layer(layer.name).get_weights()
        for mine, their in zip(layer.get_weights(), theirs):
            if layer.name in CLASS_LAYERS:
                for index, label in enumerate(labels[1:], start=1):
                    assert np.array_equal(mine[..., index], their[..., old.index(label)])
            else:
                assert np.array_equal(mine, their)

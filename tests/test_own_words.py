"""Your own drawings as categories: `sketch download --own-categories` and `sketch train --init-from`."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sketchrnn_cli.data.own_words import regroup, word_problem

from conftest import SHAPES, SKETCH, shape_drawing


def own_file(path, words, per_word=30, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for word, shape in words.items():
        for _ in range(per_word):
            strokes = shape_drawing(shape, rng)
            raw = [[xs, ys, list(range(0, 10 * len(xs), 10))] for xs, ys in strokes]
            lines.append(json.dumps({"word": word, "key_id": str(10**15 + len(lines)), "drawing": raw}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "word, fine",
    [
        ("my doodle", True),
        ("cat", True),
        ("", False),
        (" pad", False),
        ("a/b", False),
        (".hidden", False),
        ("tab\there", False),
        (None, False),
    ],
)
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
    shapes_data, trained_run, tmp_path
):
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data, symlinks=True)
    mine = own_file(tmp_path / "my_drawings.ndjson", {"my ring": "circle"}, per_word=15)  # 60 per shape
    done = subprocess.run(
        [*SKETCH, "download", "--data-dir", str(data), "--source", str(mine), "--own-categories"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    from sketchrnn_cli.data.datastore import dataset_dir, dataset_info

    assert sorted(dataset_info(dataset_dir(data, "simplified")).labels) == sorted([*SHAPES, "my ring"])
    run = tmp_path / "run"
    done = subprocess.run(
        [
            *SKETCH,
            "train",
            "--data-dir",
            str(data),
            "--init-from",
            str(trained_run),
            "--run-dir",
            str(run),
            "--epochs",
            "1",
            "--batch-size",
            "16",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "1 new category: my ring" in done.stderr
    # About 12 in train against 48 of each shape: repeated to weigh as a shape does.
    assert "each epoch repeats the drawings of categories with few (--balance): my ring x4" in done.stderr
    config = json.loads((run / "config.json").read_text())
    saved = json.loads((trained_run / "config.json").read_text())
    assert config["train"]["init_from"] == str(trained_run) and without_temperature(
        config["model"]
    ) == without_temperature(saved["model"])
    assert config["data"]["input_scale"] == saved["data"]["input_scale"]


def without_temperature(model: dict) -> dict:
    """The architecture: a run's temperature and unsure threshold are chosen on its own valid split."""
    return {key: value for key, value in model.items() if key not in ("temperature", "unsure_below")}


def test_initialising_copies_every_layer_and_the_known_categories_outputs(trained_run):
    from sketchrnn_cli.artifacts import RunFiles
    from sketchrnn_cli.model.model import CLASS_LAYERS, build_model
    from sketchrnn_cli.model.model_io import initialise_from, load_trained_model

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


def own_lines(path, word, key_ids, shape="circle"):
    rng = np.random.default_rng(len(key_ids))
    lines = [json.dumps({"word": word, "key_id": str(k), "drawing": shape_drawing(shape, rng)}) for k in key_ids]
    path.write_text("\n".join(lines) + "\n")
    return path


def own_download(data, source):
    return subprocess.run(
        [*SKETCH, "download", "--data-dir", str(data), "--source", str(source), "--own-categories"],
        capture_output=True,
        text=True,
    )


def category_total(data, name):
    from sketchrnn_cli.data.datastore import dataset_dir, dataset_info

    return sum(dataset_info(dataset_dir(data, "simplified")).counts[name].values())


def test_own_drawings_of_an_official_word_join_that_category_and_a_later_run_adds_to_them(bucket, tmp_path):
    """Red team 2, #1 and #2: 5 own drawings of "cat" replaced the official 100 without a word, and a
    second run with that word dropped the first run's drawings (5 -> 2)."""
    from sketchrnn_cli.data.download import DownloadRequest, download

    data = tmp_path / "data"
    download(DownloadRequest(SHAPES, data, source=str(bucket)))
    official_key_id = json.loads((bucket / "full/simplified/circle.ndjson").read_text().splitlines()[0])["key_id"]
    first = own_download(data, own_lines(tmp_path / "mine.ndjson", "circle", [1, 2, 3, 4, 5, official_key_id]))
    assert first.returncode == 0, first.stderr
    assert "circle: 40 official + 5 yours (1 already there)" in first.stderr
    assert category_total(data, "circle") == 45
    second = own_download(data, own_lines(tmp_path / "more.ndjson", "Circle", [5, 6, 7]))
    assert second.returncode == 0, second.stderr
    assert "circle: 40 official + 7 yours" in second.stderr and category_total(data, "circle") == 47
    download(DownloadRequest(("circle",), data, source=str(bucket)))  # the official category again
    assert category_total(data, "circle") == 47 and category_total(data, "square") == 40


def test_nothing_is_written_before_the_download_lock_is_held(bucket, tmp_path):
    """Red team 2, #3: the own-categories run refused by the lock had already rewritten own-words/."""
    from sketchrnn_cli.data import datastore

    data = tmp_path / "data"
    with datastore.downloading(data):
        refused = own_download(data, own_lines(tmp_path / "mine.ndjson", "my ring", [1, 2]))
    assert refused.returncode == 1 and "in use by" in refused.stderr
    assert not (data / "own-words").exists()


def test_a_killed_regroups_leftovers_are_removed_by_the_next(tmp_path):
    """Red team 2, #20: a kill -9 during the regroup left its .sketch-tmp-* copy of the input forever."""
    folder = tmp_path / "out/full/simplified"
    leftover = folder / ".sketch-tmp-killed"
    leftover.mkdir(parents=True)
    (leftover / "cat.ndjson").write_bytes(b"x" * 100_000)
    regroup(own_lines(tmp_path / "mine.ndjson", "cat", [1]), tmp_path / "out", "simplified", 250)
    assert [p.name for p in folder.iterdir()] == ["cat.ndjson"]


def test_a_word_too_long_in_bytes_for_a_file_name_is_one_skipped_line(tmp_path):
    """Red team 2, #10: 70 emoji (under 100 characters, 280 bytes) aborted the download: "file name too long"."""
    source = own_lines(tmp_path / "mine.ndjson", "\U0001f431" * 70, [1])
    with source.open("a") as handle:
        handle.write(json.dumps({"word": "cat", "key_id": "2", "drawing": [[[0, 9], [0, 9]]]}) + "\n")
    regrouped = regroup(source, tmp_path / "out", "simplified", 250)
    assert regrouped.words == ("cat",) and "bytes in UTF-8" in regrouped.skipped[0]


def test_any_number_of_words_regroups_within_few_open_files(tmp_path):
    """Red team 2, #11: 1,100 words (400 under ulimit -n 256) failed with "too many open files"."""
    lines = [
        json.dumps({"word": f"word {i}", "key_id": str(i), "drawing": [[[0, 9, i % 200], [0, 9, 3]]]})
        for i in range(1100)
    ]
    (tmp_path / "mine.ndjson").write_text("\n".join(lines * 2) + "\n")
    script = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)); "
        "from pathlib import Path; from sketchrnn_cli.data.own_words import regroup; "
        "print(len(regroup(Path(sys.argv[1]), Path(sys.argv[2]), 'simplified', 250).words))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "mine.ndjson"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.strip() == "1100", done.stderr
    assert (tmp_path / "out/full/simplified/word 7.ndjson").read_text().count("\n") == 1


def test_one_normalisation_names_your_words_and_the_categories_train_takes(tmp_path):
    """Red team 2, #12: words "paint_can" and "Cat" stayed as typed, so train --categories "paint_can,cat"
    said "not in the dataset: paint can" while "Cat" trained as "cat"."""
    from sketchrnn_cli.data.categories import resolve_among

    source = own_lines(tmp_path / "a.ndjson", "paint_can", [1, 2])
    with source.open("a") as handle:
        for key_id, word in ((3, "Cat"), (4, "cat"), (5, "Caf\u0065\u0301"), (6, "caf\u00e9")):
            handle.write(json.dumps({"word": word, "key_id": str(key_id), "drawing": [[[0, 9], [0, 9]]]}) + "\n")
    regrouped = regroup(source, tmp_path / "out", "simplified", 250)
    assert regrouped.words == ("Caf\u00e9", "cat", "paint can")
    assert resolve_among(["paint_can", "CAT", "café"], regrouped.words) == ["paint can", "cat", "Caf\u00e9"]

"""The download workflow, its builds (flat arrays, TFDS files when asked), on drawings written by the tests."""

import json

import numpy as np
import pytest

from sketchrnn_cli import flat
from sketchrnn_cli.collect import CollectOptions
from sketchrnn_cli.datastore import dataset_dir, dataset_info
from sketchrnn_cli.download import DownloadRequest, download
from sketchrnn_cli.errors import SketchError
from sketchrnn_cli.splits import split_of

from conftest import SHAPES, build_rows, tfds_rows, write_bucket


def read_back(path):
    """(the build's DatasetInfo, {split: [{key_id, label, strokes}]}) from its flat arrays."""
    examples = {
        s: [{"key_id": key_id, "label": label, "strokes": strokes} for key_id, label, strokes in flat.examples(path, s)]
        for s in ("train", "valid", "test")
    }
    return dataset_info(path), examples


def test_builds_a_versioned_dataset_with_hash_splits_labels_and_counts(bucket, tmp_path):
    summary = download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket)))
    assert summary.dataset_dir.parent == tmp_path / "data/datasets/simplified"
    assert dataset_dir(tmp_path / "data", "simplified") == summary.dataset_dir
    info, examples = read_back(summary.dataset_dir)
    assert info.labels == SHAPES and info.format == "simplified"
    assert sum(len(v) for v in examples.values()) == 120
    for split, rows in examples.items():
        for row in rows:
            assert split_of(row["key_id"]) == split
            assert row["strokes"].dtype == np.float32 and row["strokes"].shape[1] == 3
    assert sum(info.counts["circle"].values()) == 40
    assert info.counts["circle"]["train"] == sum(1 for r in examples["train"] if r["label"] == 0)
    assert not (summary.dataset_dir / "dataset_info.json").exists()  # TFDS files only when asked for


def test_tfds_files_when_asked_for_hold_the_same_drawings_as_the_flat_arrays(bucket, tmp_path):
    pytest.importorskip("tensorflow_datasets")
    summary = download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket), tfds=True))
    assert (summary.dataset_dir / "dataset_info.json").is_file()
    assert tfds_rows(summary.dataset_dir) == build_rows(summary.dataset_dir)
    assert len(build_rows(summary.dataset_dir)) == 120
    assert dataset_info(summary.dataset_dir).counts == summary.converted.counts()


def test_a_drawing_keeps_its_split_when_more_data_arrives_in_another_order(tmp_path):
    small = write_bucket(tmp_path / "small", per_shape=20)
    large = write_bucket(tmp_path / "large", per_shape=60)
    path = large / "full/simplified/circle.ndjson"
    path.write_text("\n".join(reversed(path.read_text().splitlines())) + "\n")
    before = download(DownloadRequest(SHAPES, tmp_path / "a", source=str(small))).dataset_dir
    after = download(DownloadRequest(SHAPES, tmp_path / "b", source=str(large))).dataset_dir
    split_before = {r["key_id"]: s for s, rows in read_back(before)[1].items() for r in rows}
    split_after = {r["key_id"]: s for s, rows in read_back(after)[1].items() for r in rows}
    assert split_before and all(split_after[k] == s for k, s in split_before.items())


def test_bad_lines_are_counted_and_the_rest_kept(bucket, tmp_path):
    path = bucket / "full/simplified/circle.ndjson"
    lines = path.read_text().splitlines()
    lines[3] = "{broken"
    lines[5] = json.dumps({"word": "circle", "key_id": "9", "drawing": [[[1], [1]]]})
    lines[7] = lines[6]  # duplicate key_id
    path.write_text("\n".join(lines) + "\n")
    summary = download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket)))
    assert summary.converted.skipped_count == 3
    assert [record.split(":")[-2] for record in summary.converted.skipped] == ["4", "6", "8"]
    assert str(summary.converted.skipped[0]).startswith(f"{path}:4: bad JSON")
    assert sum(summary.converted.counts()["circle"].values()) == 37


def test_max_per_class_and_recognized_only(bucket, tmp_path):
    path = bucket / "full/simplified/square.ndjson"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows[:10]:
        row["recognized"] = False
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    options = CollectOptions(max_per_class=25, recognized_only=True)
    summary = download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket), options=options))
    assert {c: sum(v.values()) for c, v in summary.converted.counts().items()} == {s: 25 for s in SHAPES}
    assert summary.converted.unrecognized_count == 10


def test_sketch_rnn_npz_files_are_an_input_too(tmp_path):
    folder = tmp_path / "npz" / "sketchrnn"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        arrays = {}
        for split, count in (("train", 6), ("valid", 2), ("test", 3)):
            items = np.empty(count, dtype=object)
            for i in range(count):
                items[i] = np.column_stack([rng.integers(-20, 20, (8, 2)), np.eye(8, dtype=int)[7] | 0]).astype(
                    np.int16
                )
            arrays[split] = items
        np.savez(folder / f"{name}.npz", **arrays)
    summary = download(DownloadRequest(("cat", "dog"), tmp_path / "data", format="npz", source=str(tmp_path / "npz")))
    _, examples = read_back(summary.dataset_dir)
    assert {s: len(v) for s, v in examples.items()} == {"train": 12, "valid": 4, "test": 6}
    assert all(r["strokes"].shape == (8, 3) for r in examples["train"])


def test_nothing_valid_is_an_error_not_an_empty_dataset(tmp_path):
    folder = tmp_path / "bad" / "full/simplified"
    folder.mkdir(parents=True)
    (folder / "cat.ndjson").write_text("nonsense\n")
    with pytest.raises(SketchError, match="no valid drawings"):
        download(DownloadRequest(("cat",), tmp_path / "data", source=str(tmp_path / "bad")))


def test_end_to_end_from_the_shared_mirror_for_three_categories(shared_quickdraw, tmp_path):
    names = ("cat", "paint can", "The Eiffel Tower")
    summary = download(
        DownloadRequest(
            names, tmp_path / "data", source=str(shared_quickdraw), options=CollectOptions(max_per_class=20)
        )
    )
    counts = summary.converted.counts()
    assert list(counts) == list(names) and all(sum(v.values()) == 20 for v in counts.values())
    info, examples = read_back(summary.dataset_dir)
    assert info.labels == names
    assert sum(len(v) for v in examples.values()) == 60


def test_a_split_without_drawings_is_written_and_read_as_empty(tmp_path):
    from conftest import shape_drawing

    rng = np.random.default_rng(0)
    train_only = [key for key in (str(n) for n in range(1000)) if split_of(key) == "train"][:6]
    folder = tmp_path / "bucket/full/simplified"
    folder.mkdir(parents=True)
    (folder / "circle.ndjson").write_text(
        "".join(
            json.dumps({"word": "circle", "key_id": key, "drawing": shape_drawing("circle", rng)}) + "\n"
            for key in train_only
        )
    )
    build = download(DownloadRequest(("circle",), tmp_path / "data", source=str(tmp_path / "bucket"))).dataset_dir
    assert [len(list(flat.examples(build, split))) for split in ("train", "valid", "test")] == [6, 0, 0]
    assert len(flat.FlatSplit.open(build, "valid", ("circle",))) == 0

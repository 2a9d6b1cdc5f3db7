"""The download workflow, its builds (flat arrays, TFDS files when asked), on drawings written by the tests."""

import json
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from sketchrnn_cli.data import flat
from sketchrnn_cli.data.collect import CollectOptions
from sketchrnn_cli.data.datastore import dataset_dir, dataset_info
from sketchrnn_cli.data.download import DownloadRequest, download
from sketchrnn_cli.data.splits import split_of
from sketchrnn_cli.errors import SketchError

from conftest import (
    SHAPES,
    SKETCH,
    build_rows,
    dataset_rows,
    download_args,
    one_error_line,
    shape_drawing,
    sketch,
    tfds_rows,
    training_started,
    write_bucket,
)


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


def long_drawings_bucket(root, per_shape: int):
    """Drawings of 300 points, four times the bytes of a mean drawing: the disk estimate, made
    with a mean drawing's bytes under --max-per-class, is too low for them."""
    rng = np.random.default_rng(0)
    folder = root / "full" / "simplified"
    folder.mkdir(parents=True)
    for index, shape in enumerate(("circle", "zigzag", "square")):
        lines = [
            json.dumps(
                {
                    "word": shape,
                    "key_id": str(10**15 + index * 10**6 + i),
                    "drawing": [[rng.integers(0, 256, 300).tolist(), rng.integers(0, 256, 300).tolist()]],
                }
            )
            for i in range(per_shape)
        ]
        (folder / f"{shape}.ndjson").write_text("\n".join(lines) + "\n")
    return root


def test_a_failed_rebuild_keeps_the_previous_dataset(bucket, tmp_path, http_mirror, tiny_disk):
    """Red team 1, #2: Datasets are published whole, one writer at a time, never under a reader's feet."""
    data = tiny_disk / "data"
    assert sketch(*download_args(data, bucket)).returncode == 0
    before = dataset_rows(data)
    big = long_drawings_bucket(tmp_path / "big", per_shape=300)
    capped = ("--max-per-class", "300", "--no-keep-downloads")  # passes the estimate, then fills the disk
    full = sketch(*download_args(data, big, "circle,zigzag,square", *capped))
    one_error_line(full, "the disk is full")
    assert dataset_rows(data) == before
    shutil.rmtree(data / "converted")  # the user frees the space the finished conversions took
    slow_url, _ = http_mirror(big, delay=0.05)
    process = subprocess.Popen(
        [
            *SKETCH,
            *download_args(
                str(data), slow_url, "circle,zigzag,square", "--max-per-class", "100", "--no-keep-downloads"
            ),
        ],
        stderr=subprocess.PIPE,
    )
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM, process.stderr.read()
    assert dataset_rows(data) == before
    assert not list((data / "datasets" / "simplified").glob(".staging-*"))


def test_two_downloads_into_one_data_folder_are_refused_not_mixed(bucket, tmp_path, http_mirror):
    """Red team 1, #3: Datasets are published whole, one writer at a time, never under a reader's feet."""
    from conftest import write_bucket

    big = write_bucket(tmp_path / "big", per_shape=1500)
    slow_url, _ = http_mirror(big, delay=0.01)
    data = tmp_path / "data"
    first = subprocess.Popen([*SKETCH, *download_args(str(data), slow_url)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list((data / "downloads").rglob("*.part")):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = sketch(*download_args(data, slow_url))
        one_error_line(second, f"{data} is in use by sketch download (pid {first.pid})")
        assert first.wait(timeout=120) == 0, first.stderr.read()
    finally:
        first.kill()
    for name in ("circle", "zigzag", "square"):
        assert (data / f"downloads/full/simplified/{name}.ndjson").read_bytes() == (
            big / f"full/simplified/{name}.ndjson"
        ).read_bytes()


def test_a_download_while_training_reads_never_breaks_the_training(shapes_data, bucket, tmp_path):
    """Red team 1, #14: Datasets are published whole, one writer at a time, never under a reader's feet."""
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data)
    run_dir = tmp_path / "run"
    training = training_started(data, run_dir, epochs=6)
    old = json.loads((run_dir / "config.json").read_text())["data"]["dataset"]
    rebuilt = sketch(*download_args(data, bucket, "circle,square"))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert training.wait(timeout=300) == 0, training.stderr.read()
    assert (data / "datasets" / "simplified" / old).is_dir()  # kept while it was read
    again = sketch(*download_args(data, bucket, "circle,square"))
    assert again.returncode == 0, again.stderr
    assert not (data / "datasets" / "simplified" / old).exists()  # and removed once no one reads it


def test_a_zip_bombed_or_self_referencing_npz_is_refused_before_it_is_expanded(tmp_path):
    """Red team 1, #15: Bounded memory on hostile files; hostile strings are skipped, not fatal."""
    import zipfile

    from sketchrnn_cli.data.npz import load_npz
    from sketchrnn_cli.errors import SketchError

    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.npy", b"\0" * (4 << 20))
    with pytest.raises(SketchError, match="would unpack to 4,194,304 bytes"):
        load_npz(bomb, max_bytes=1 << 20)
    one = np.zeros((10_000, 3), dtype=np.int16)
    shared = np.empty(1000, dtype=object)
    shared[:] = [one] * 1000  # 1000 references to one array: 30 million values once expanded
    referencing = tmp_path / "shared.npz"
    np.savez(referencing, train=shared, valid=shared[:1], test=shared[:1])
    assert referencing.stat().st_size < 1 << 20  # small on disk, 60 MB once each reference is expanded
    with pytest.raises(SketchError, match="refers to 30,000,000 values"):
        load_npz(referencing, max_bytes=1 << 20)


def test_a_lone_surrogate_key_id_is_skipped_with_its_line(bucket, tmp_path, run_copy):
    """Red team 1, #16: Bounded memory on hostile files; hostile strings are skipped, not fatal."""
    path = bucket / "full/simplified/circle.ndjson"
    path.write_text('{"word": "circle", "key_id": "\\ud800", "drawing": [[[0, 9], [0, 9]]]}\n' + path.read_text())
    done = sketch(*download_args(tmp_path / "data", bucket))
    assert done.returncode == 0, done.stderr
    assert "circle.ndjson:1: 'key_id' is not valid Unicode" in done.stderr
    predicted = sketch("predict", "--model", run_copy, path)  # table mode
    assert predicted.returncode == 1 and "Traceback" not in predicted.stderr
    assert predicted.stderr.strip() == f"error: {path}:1: 'key_id' is not valid Unicode (a lone surrogate)"
    assert predicted.stdout.count(f"{path}:") == 40  # every good drawing after it is classified


def test_a_read_only_data_folder_says_so(bucket, tiny_disk):
    """Red team 1, #21: A stalled or silent server is timed out with a clear message."""
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    done = sketch(*download_args(tiny_disk / "data", bucket))
    one_error_line(done, str(tiny_disk / "data"), "read-only")

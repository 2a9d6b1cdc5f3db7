"""Kaggle's "Quick, Draw! Doodle Recognition" CSV files: read by their header, as a download
source, and as input to predict and evaluate."""

import csv
import json
import subprocess

from sketchrnn_cli.data.reader import Drawing, Skipped, read_csv, read_lines

from conftest import SHAPES, SKETCH, dataset_rows, write_bucket

TRAIN_HEADER = ["countrycode", "drawing", "key_id", "recognized", "timestamp", "word"]
TEST_HEADER = ["key_id", "countrycode", "drawing"]


def write_csv(path, header, objects):
    """Quick, Draw! objects as a Kaggle CSV file with ``header``."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for item in objects:
            row = {
                **item,
                "drawing": json.dumps(item["drawing"]),
                "recognized": str(item.get("recognized", True)),
                "timestamp": "2017-03-09 00:28:55.637750",
            }
            writer.writerow([row.get(name, "") for name in header])
    return path


def mirror_objects(shared_quickdraw, category, count):
    lines = (shared_quickdraw / "full" / "simplified" / f"{category}.ndjson").read_text().splitlines()[:count]
    return [json.loads(line) for line in lines]


def test_a_train_csv_reads_as_the_same_drawings_as_its_ndjson(shared_quickdraw, tmp_path):
    objects = mirror_objects(shared_quickdraw, "cat", 20) + mirror_objects(shared_quickdraw, "paint can", 20)
    path = write_csv(tmp_path / "train.csv", TRAIN_HEADER, objects)
    with path.open("rb") as handle:
        from_csv = list(read_csv(handle, str(path)))
    from_ndjson = list(read_lines([json.dumps(o).encode() for o in objects], "x"))
    assert all(isinstance(d, Drawing) for d in from_csv) and len(from_csv) == 40
    assert [(d.word, d.key_id, d.sequence.tobytes()) for d in from_csv] == [
        (d.word, d.key_id, d.sequence.tobytes()) for d in from_ndjson
    ]
    assert [d.line for d in from_csv[:2]] == [2, 3]  # the header is line 1


def test_bad_rows_are_skipped_with_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('key_id,countrycode,drawing\n1,US,"[[[0, 9], [0, 9]]]"\n2,US\n3,US,"[[[0, 9]"\n4,US,"[]"\n')
    with path.open("rb") as handle:
        records = list(read_csv(handle, str(path)))
    assert isinstance(records[0], Drawing) and records[0].key_id == "1" and records[0].word is None
    assert [str(r).split(": ")[0] for r in records[1:]] == [f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "fields" in records[1].reason and "JSON" in records[2].reason and "empty" in records[3].reason


def test_a_byte_that_is_not_utf8_skips_its_row_only(tmp_path):
    """Red team 2, #13: one such byte in row 4 dropped the whole file (rows 2-3 too), reported at line 0."""
    path = tmp_path / "latin1.csv"
    rows = [b"key_id,countrycode,drawing\n"] + [f'{i},US,"[[[0, 9], [0, 9]]]"\n'.encode() for i in range(1, 3)]
    rows += [b'3,\xe9\xe9,"[[[0, 9], [0, 9]]]"\n', b'4,US,"[[[0, 9], [0, 9]]]"\n']
    path.write_bytes(b"".join(rows))
    with path.open("rb") as handle:
        records = list(read_csv(handle, str(path)))
    assert [r.key_id if isinstance(r, Drawing) else str(r) for r in records] == [
        "1",
        "2",
        f"{path}:4: the row is not UTF-8 text",
        "4",
    ]


def test_a_file_without_a_drawing_column_is_one_clear_skip(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with path.open("rb") as handle:
        records = list(read_csv(handle, str(path)))
    assert len(records) == 1 and isinstance(records[0], Skipped) and "'drawing' column" in records[0].reason


def test_kaggle_files_as_a_download_source_give_the_same_dataset_as_the_bucket(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=30)
    kaggle = tmp_path / "train_simplified"
    kaggle.mkdir()
    for shape in SHAPES:
        lines = (bucket / "full" / "simplified" / f"{shape}.ndjson").read_text().splitlines()
        write_csv(kaggle / f"{shape}.csv", TRAIN_HEADER, [json.loads(line) for line in lines])
    runs = [["--categories", ",".join(SHAPES), "--source", str(bucket)], ["--own-categories", "--source", str(kaggle)]]
    for name, args in zip(("from-bucket", "from-kaggle"), runs):
        done = subprocess.run(
            [*SKETCH, "download", "--data-dir", str(tmp_path / name), *args], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert dataset_rows(tmp_path / "from-bucket") == dataset_rows(tmp_path / "from-kaggle")


def test_predict_and_evaluate_read_kaggle_files(trained_run, tmp_path):
    import numpy as np

    from conftest import shape_drawing

    rng = np.random.default_rng(4)
    objects = [
        {"key_id": str(100 + i), "countrycode": "DE", "word": shape, "drawing": shape_drawing(shape, rng)}
        for i, shape in enumerate(SHAPES * 2)
    ]
    test_file = write_csv(tmp_path / "test_simplified.csv", TEST_HEADER, objects)
    done = subprocess.run(
        [*SKETCH, "predict", "--model", str(trained_run), "--json", str(test_file)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["key_id"] for line in done.stdout.splitlines()] == [o["key_id"] for o in objects]
    train_file = write_csv(tmp_path / "train.csv", TRAIN_HEADER, objects)
    scored = subprocess.run(
        [*SKETCH, "evaluate", str(trained_run), "--data", str(train_file), "--json"], capture_output=True, text=True
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["count"] == len(objects)

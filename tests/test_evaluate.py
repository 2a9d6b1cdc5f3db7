"""`sketch evaluate`, `evaluate-all` and `export` on the shapes run."""

import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from sketchrnn_cli.cli import main

from conftest import (
    SHAPES,
    drawing_line,
    one_error_line,
    shape_drawing,
    sketch,
)


def test_json_report_on_the_test_split_has_the_contract_names(trained_run, shapes_data, tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        main, ["evaluate", str(trained_run), "--data-dir", str(shapes_data), "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert json.loads(out.read_text()) == report
    assert report["count"] > 10 and report["top1"] > 0.8 and report["top3"] == 1.0
    assert report["top1"] <= report["map3"] <= report["top3"]
    assert report["baseline_chance"] == pytest.approx(1 / 3)
    assert set(report["per_class"]) == {"circle", "zigzag", "square"}
    assert isinstance(report["confused"], list)
    assert 0 <= report["ece"] <= 1 and report["nll"] >= 0 and len(report["reliability"]) == 10


def test_the_table_names_metrics_and_baselines(trained_run, shapes_data):
    result = CliRunner().invoke(
        main, ["evaluate", str(trained_run), "--data-dir", str(shapes_data), "--split", "valid"]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "top-1",
        "top-3",
        "MAP@3",
        "calibration error (ECE)",
        "negative log-likelihood",
        "baseline: chance",
        "baseline: most common category",
        "Per category",
    ):
        assert text in result.output


def test_ndjson_files_with_an_unknown_category_are_counted_not_a_crash(trained_run, tmp_path):
    rng = np.random.default_rng(11)
    lines = [
        {"word": word, "key_id": str(i), "drawing": shape_drawing(shape, rng)}
        for i, (word, shape) in enumerate(
            [("circle", "circle"), ("square", "square"), ("cat", "circle"), ("cat", "square"), ("zigzag", "zigzag")]
        )
    ]
    path = tmp_path / "mixed.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "{broken\n")
    result = CliRunner().invoke(main, ["evaluate", str(trained_run), "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["count"] == 3 and report["unknown_categories"] == {"cat": 2} and report["skipped"] == 1


def test_evaluate_all_prints_one_comparison_table(trained_run, shapes_data):
    result = CliRunner().invoke(main, ["evaluate-all", str(trained_run.parent), "--data-dir", str(shapes_data)])
    assert result.exit_code == 0, result.output
    assert "shapes" in result.output and "conv-lstm" in result.output and "MAP@3" in result.output


@pytest.mark.parametrize("fmt, produced", [("tflite", "model.tflite"), ("saved_model", "saved_model")])
def test_export_writes_the_model_with_its_labels(trained_run, tmp_path, fmt, produced):
    out = tmp_path / "export"
    result = CliRunner().invoke(main, ["export", str(trained_run), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / produced).exists()
    assert (out / "labels.txt").read_text().split("\n")[:3] == ["circle", "zigzag", "square"]


def test_exported_saved_model_serves_the_same_answers(trained_run, tmp_path):
    import tensorflow as tf

    from sketchrnn_cli.data.strokes import parse_drawing
    from sketchrnn_cli.model.inference import open_predictor, pad

    CliRunner().invoke(main, ["export", str(trained_run), "--format", "saved_model", "--out", str(tmp_path)])
    served = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    rng = np.random.default_rng(5)
    sequences = [parse_drawing(shape_drawing(s, rng)) for s in ("circle", "zigzag", "square")]
    strokes, lengths = pad(sequences)
    outputs = served(strokes=tf.constant(strokes), length=tf.constant(lengths))
    _, backend = open_predictor(trained_run, "tensorflow")
    np.testing.assert_allclose(next(iter(outputs.values())).numpy(), backend.predict(sequences), atol=1e-5)


def test_a_build_older_than_flat_arrays_is_read_from_its_tfds_files(bucket, tmp_path):
    import shutil

    from sketchrnn_cli.data.download import DownloadRequest, download
    from sketchrnn_cli.use.evaluate import split_from_flat_arrays, split_from_tfds

    build = download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket), tfds=True)).dataset_dir
    labels = ("square", "circle", "zigzag")
    by_flat = split_from_flat_arrays(build, "test", labels, 250)
    shutil.rmtree(build / "flat")  # as sketch 0.8 built it
    by_tfds = split_from_tfds(build, "test", labels, 250)
    rows = [sorted((int(label), sequence.tobytes()) for sequence, label in zip(*pair)) for pair in (by_flat, by_tfds)]
    assert rows[0] == rows[1] and len(rows[0]) > 0


def test_evaluate_all_keeps_the_table_and_names_the_damaged_run(shapes_data, trained_run, tmp_path):
    """Red team 1, #12: evaluate-all keeps its table when one run is damaged."""
    runs = tmp_path / "runs"
    for name in ("good", "damaged"):
        shutil.copytree(trained_run, runs / name)
    (runs / "damaged" / "summary.json").write_bytes(b"\xff\xfe not json")
    done = sketch("evaluate-all", runs, "--data-dir", shapes_data)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "good" in done.stdout and "conv-lstm" in done.stdout
    assert "summary.json" in done.stderr and "1 of 2 run(s) could not be evaluated: damaged" in done.stderr


def test_evaluate_reads_regular_files_only(run_copy, tmp_path):
    """Red team 1, #19: A FIFO in an evaluate --data folder."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "drawings.ndjson").write_text(drawing_line("circle", "1") + drawing_line("square", "2", seed=1))
    os.mkfifo(folder / "trap.ndjson")
    done = sketch("evaluate", run_copy, "--data", folder, "--backend", "litert", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 2
    named = sketch("evaluate", run_copy, "--data", folder / "trap.ndjson", "--backend", "litert", timeout=60)
    one_error_line(named, "trap.ndjson: not a regular file")

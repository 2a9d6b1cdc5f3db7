"""`sketch download --beam-runner`: the conversion and the TFDS files made by an Apache Beam
pipeline (DirectRunner here) give the dataset built without Beam."""

import json
import subprocess
import sys

import pytest

from sketchrnn_cli.data.collect import CollectOptions
from sketchrnn_cli.data.download import BeamSettings, DownloadRequest, download
from sketchrnn_cli.errors import SketchError

from conftest import SHAPES, build_rows, tfds_rows, write_bucket

pytest.importorskip("apache_beam")
DIRECT = BeamSettings("DirectRunner")


def test_the_beam_build_of_the_mirror_equals_the_build_without_beam(shared_quickdraw, tmp_path):
    names = ("cat", "paint can", "The Eiffel Tower", "zigzag")
    options = CollectOptions(max_per_class=150)
    plain = download(
        DownloadRequest(names, tmp_path / "plain", source=str(shared_quickdraw), options=options, workers=2)
    )
    beam = download(
        DownloadRequest(names, tmp_path / "beam", source=str(shared_quickdraw), options=options, beam=DIRECT)
    )
    expected = build_rows(plain.dataset_dir)
    assert len(expected) == 150 + 150 + 25 + 10  # the mirror holds 25 Eiffel Towers and 10 zigzags
    assert tfds_rows(beam.dataset_dir) == expected  # the TFDS files Beam wrote
    assert build_rows(beam.dataset_dir) == expected  # the flat arrays beside them
    assert beam.converted.counts() == plain.converted.counts()
    metadata = [json.loads((s.dataset_dir / "metadata.json").read_text()) for s in (plain, beam)]
    assert metadata[0] == metadata[1]


def test_beam_reuses_categories_converted_before_and_reports_bad_lines(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=30)
    path = bucket / "full/simplified/zigzag.ndjson"
    lines = path.read_text().splitlines()
    lines[2] = "{broken"
    path.write_text("\n".join(lines) + "\n")
    data = tmp_path / "data"
    download(DownloadRequest(("circle",), data, source=str(bucket)))
    manifest = (data / "converted/simplified-250/circle.json").read_text()
    summary = download(DownloadRequest(("square", "zigzag"), data, source=str(bucket), beam=DIRECT))
    assert (data / "converted/simplified-250/circle.json").read_text() == manifest  # not converted again
    assert summary.converted.categories == ["square", "zigzag", "circle"]
    assert [record.split(":")[-2] for record in summary.converted.skipped] == ["3"]
    fresh = download(DownloadRequest(SHAPES, tmp_path / "fresh", source=str(bucket)))
    assert tfds_rows(summary.dataset_dir) == build_rows(summary.dataset_dir) == build_rows(fresh.dataset_dir)


def test_a_category_that_fails_on_beam_is_one_line_and_publishes_nothing(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=20)
    (bucket / "full/simplified/square.ndjson").unlink()
    with pytest.raises(SketchError, match=r"square.ndjson: no such file") as caught:
        download(DownloadRequest(SHAPES, tmp_path / "data", source=str(bucket), beam=DIRECT))
    assert "\n" not in str(caught.value)
    assert not list((tmp_path / "data/datasets/simplified").glob("[!.]*"))


def test_the_command_takes_a_runner_and_pipeline_options(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=20)
    sketch = [
        sys.executable,
        "-m",
        "sketchrnn_cli.cli",
        "download",
        "--data-dir",
        str(tmp_path / "data"),
        "--source",
        str(bucket),
        "--categories",
        ",".join(SHAPES),
    ]
    done = subprocess.run(
        [*sketch, "--beam-runner", "DirectRunner", "--beam-option=--direct_num_workers=1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "dataset written to" in done.stdout + done.stderr
    wrong = subprocess.run([*sketch, "--beam-runner", "NoSuchRunner"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip().startswith("Error: ") and "NoSuchRunner" in wrong.stderr, wrong.stderr
    alone = subprocess.run([*sketch, "--beam-option=--direct_num_workers=1"], capture_output=True, text=True)
    assert alone.returncode == 2 and "--beam-option goes with --beam-runner" in alone.stderr

"""Before a download: how much it fetches and stores, and a clear stop when the disk cannot hold it."""

import subprocess

from sketchrnn_cli.data.collect import CollectOptions
from sketchrnn_cli.data.convert import Job
from sketchrnn_cli.data.disk import (
    BYTES_PER_DRAWING,
    CONVERTED_PER_SOURCE_BYTE,
    FLAT_PER_SOURCE_BYTE,
    TFDS_PER_SOURCE_BYTE,
    plan,
)
from sketchrnn_cli.data.sources import Network

from conftest import SHAPES, SKETCH, write_bucket


def jobs(source, tmp_path, cap=None):
    return [
        Job(shape, str(source), "simplified", tmp_path / "downloads", tmp_path / "out", CollectOptions(cap), Network())
        for shape in SHAPES
    ]


def source_bytes(bucket):
    return sum((bucket / "full/simplified" / f"{shape}.ndjson").stat().st_size for shape in SHAPES)


def test_a_local_source_fetches_nothing_and_stores_its_conversion_and_build(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=50)
    room = plan(jobs(bucket, tmp_path), {}, tmp_path / "data", keep_downloads=True)
    size = source_bytes(bucket)
    assert room.fetch == 0 and room.unknown == 0
    assert room.store == int(size * CONVERTED_PER_SOURCE_BYTE + size * FLAT_PER_SOURCE_BYTE)
    with_tfds = plan(jobs(bucket, tmp_path), {}, tmp_path / "data", keep_downloads=True, tfds=True)
    assert with_tfds.store == int(
        size * CONVERTED_PER_SOURCE_BYTE + size * (FLAT_PER_SOURCE_BYTE + TFDS_PER_SOURCE_BYTE)
    )
    assert room.free > 0


def test_a_remote_source_is_sized_by_head_requests_and_a_cap_reads_less(http_mirror, tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=50)
    url, _ = http_mirror(bucket)
    size = source_bytes(bucket)
    kept = plan(jobs(url, tmp_path), {}, tmp_path / "data", keep_downloads=True)
    dropped = plan(jobs(url, tmp_path), {}, tmp_path / "data", keep_downloads=False)
    assert kept.fetch == size and kept.store - dropped.store == size
    capped = plan(jobs(url, tmp_path, cap=2), {}, tmp_path / "data", keep_downloads=True)
    assert capped.fetch == 3 * 2 * BYTES_PER_DRAWING["simplified"]


def test_categories_converted_before_count_in_the_build(tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=50)
    alone = plan(jobs(bucket, tmp_path), {}, tmp_path / "data", keep_downloads=True)
    beside = plan(jobs(bucket, tmp_path), {"cat": {"source": {"bytes": 1000}}}, tmp_path / "data", True)
    assert abs(beside.store - alone.store - 1000 * FLAT_PER_SOURCE_BYTE) <= 1


def test_a_download_the_disk_cannot_hold_stops_before_writing(tiny_disk, tmp_path):
    bucket = write_bucket(tmp_path / "bucket", per_shape=3000)  # about 1 MB a shape
    data = tiny_disk / "data"
    done = subprocess.run(
        [*SKETCH, "download", "--data-dir", str(data), "--source", str(bucket), "--categories", ",".join(SHAPES)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "of disk and" in done.stderr and "free" in done.stderr and str(data) in done.stderr
    assert not (data / "converted").exists() and not (data / "datasets").exists()

import subprocess
import sys
import time

import pytest

from sketchrnn_cli.data.sources import Network, SourceError, fetch_file, open_lines, relative_path

from conftest import download_args, one_error_line, sketch, write_bucket

RELATIVE = relative_path("simplified", "circle")


def test_local_folder_lines_are_read_in_place(bucket, tmp_path):
    lines = list(open_lines(str(bucket), RELATIVE, tmp_path / "downloads"))
    assert len(lines) == 40 and lines[0].startswith(b"{")
    assert not (tmp_path / "downloads").exists()  # nothing copied


def test_missing_local_category_names_the_path(bucket, tmp_path):
    with pytest.raises(SourceError, match="dragon.ndjson: no such file"):
        list(open_lines(str(bucket), relative_path("simplified", "dragon"), tmp_path))


def test_http_download_is_complete_and_not_fetched_twice(bucket, tmp_path, http_mirror):
    url, handler = http_mirror(bucket)
    downloads = tmp_path / "downloads"
    first = list(open_lines(url, RELATIVE, downloads))
    assert b"".join(first) == (bucket / RELATIVE).read_bytes()
    assert (downloads / RELATIVE).read_bytes() == (bucket / RELATIVE).read_bytes()
    assert not (downloads / (RELATIVE + ".part")).exists()
    again = list(open_lines(url, RELATIVE, downloads))
    assert again == first and len(handler.requests) == 1


def test_interrupted_download_leaves_a_part_file_and_resumes_with_a_range(bucket, tmp_path, http_mirror):
    whole = (bucket / RELATIVE).read_bytes()
    downloads = tmp_path / "downloads"
    dropping_url, _ = http_mirror(bucket, drop_after=len(whole) // 3)
    with pytest.raises(SourceError, match=r"circle.ndjson: connection closed after .* gave up after 0 retries"):
        list(open_lines(dropping_url, RELATIVE, downloads, network=Network(retries=0)))
    assert not (downloads / RELATIVE).exists()  # a truncated file never looks complete
    assert (downloads / (RELATIVE + ".part")).stat().st_size == len(whole) // 3

    url, handler = http_mirror(bucket)
    lines = list(open_lines(url, RELATIVE, downloads))
    assert b"".join(lines) == whole  # each line exactly once, across both runs
    assert (downloads / RELATIVE).read_bytes() == whole
    assert handler.requests == [("/" + RELATIVE.replace(" ", "%20"), f"bytes={len(whole) // 3}-")]


def test_reading_only_the_first_lines_fetches_no_further(tmp_path, http_mirror):
    bucket = write_bucket(tmp_path / "big", per_shape=2000)  # several download chunks
    url, _ = http_mirror(bucket)
    downloads = tmp_path / "downloads"
    lines = open_lines(url, RELATIVE, downloads)
    first = next(lines)
    lines.close()
    assert first.endswith(b"\n")
    part = downloads / (RELATIVE + ".part")
    assert 0 < part.stat().st_size < (bucket / RELATIVE).stat().st_size / 2
    assert not (downloads / RELATIVE).exists()
    assert b"".join(open_lines(url, RELATIVE, downloads)) == (bucket / RELATIVE).read_bytes()


def test_missing_category_on_a_server_is_one_clear_error_naming_the_url(bucket, tmp_path, http_mirror):
    url, _ = http_mirror(bucket)
    with pytest.raises(SourceError, match=r"http://127\.0\.0\.1:\d+/full/simplified/dragon\.ndjson: HTTP 404"):
        list(open_lines(url, relative_path("simplified", "dragon"), tmp_path))


def test_unreachable_server_is_one_clear_error(tmp_path):
    with pytest.raises(SourceError, match="127.0.0.1:9/full/simplified/circle.ndjson: cannot connect"):
        list(open_lines("http://127.0.0.1:9/", RELATIVE, tmp_path))


def test_fetch_file_returns_a_complete_copy(bucket, tmp_path, http_mirror):
    url, _ = http_mirror(bucket)
    path = fetch_file(url, RELATIVE, tmp_path)
    assert path.read_bytes() == (bucket / RELATIVE).read_bytes()
    assert fetch_file(str(bucket), RELATIVE, tmp_path) == bucket / RELATIVE


def test_a_mirror_that_drops_every_first_transfer_heals_in_one_run(bucket, tmp_path, http_mirror):

    url, handler = http_mirror(bucket, drop_first=True)
    data = tmp_path / "data"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sketchrnn_cli.cli",
            "download",
            "--data-dir",
            str(data),
            "--source",
            url,
            "--categories",
            "circle,zigzag,square",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for name in ("circle", "zigzag", "square"):
        assert (data / f"downloads/full/simplified/{name}.ndjson").read_bytes() == (
            bucket / f"full/simplified/{name}.ndjson"
        ).read_bytes()
        ranges = [r for path, r in handler.requests if path == f"/full/simplified/{name}.ndjson"]
        assert len(ranges) == 2 and ranges[0] is None and ranges[1].startswith("bytes=")


@pytest.mark.parametrize("status", [503, 429])
def test_a_busy_server_is_tried_again(bucket, tmp_path, http_mirror, status):
    url, handler = http_mirror(bucket, fail_first=status)
    lines = list(open_lines(url, RELATIVE, tmp_path, network=Network(backoff=0.01)))
    assert b"".join(lines) == (bucket / RELATIVE).read_bytes()
    assert len(handler.requests) == 2


def test_retries_are_bounded(bucket, tmp_path, http_mirror):
    url, handler = http_mirror(bucket, drop_after=100)
    with pytest.raises(SourceError, match="gave up after 2 retries"):
        list(open_lines(url, RELATIVE, tmp_path, network=Network(retries=2, backoff=0.01)))
    assert len(handler.requests) == 3


def test_a_captive_portal_page_is_never_accepted(bucket, tmp_path, http_mirror):
    """Red team 1, #6: What arrives is checked before it is accepted."""
    portal = tmp_path / "portal"
    for name in ("circle", "square"):
        page = portal / f"full/simplified/{name}.ndjson"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<html><body>Please log in to the hotel wifi</body></html>\n")
    for misbehaviour, message in (
        ({"content_type": "text/html; charset=utf-8"}, "is a web page"),
        ({"content_type": "text/plain"}, "is not Quick, Draw! ndjson"),
    ):
        url, _ = http_mirror(portal, **misbehaviour)
        data = tmp_path / f"data-{len(message)}"
        # One worker: with two, the first to fail stops the other mid-file, whose .part a later run resumes.
        done = sketch(*download_args(data, url, "circle,square", "--workers", "1"))
        one_error_line(done, "circle.ndjson", message)
        assert not list((data / "downloads").rglob("*.ndjson")) and not list((data / "downloads").rglob("*.part"))


def test_a_category_with_no_drawings_is_an_error(bucket, tmp_path):
    """Red team 1, #6: What arrives is checked before it is accepted."""
    (bucket / "full/simplified/square.ndjson").write_text('{"word": "square", "drawing": []}\n')
    done = sketch(*download_args(tmp_path / "data", bucket))
    one_error_line(done, "no valid drawings for 'square'", "square.ndjson:1")


@pytest.mark.parametrize(
    "misbehaviour, message",
    [
        ({"short_length": 1000}, "ends in the middle of a line"),
        ({"md5": "AAAAAAAAAAAAAAAAAAAAAA=="}, "does not match the MD5 checksum"),
    ],
)
def test_a_download_that_is_cut_or_corrupt_is_rejected(bucket, tmp_path, http_mirror, misbehaviour, message):
    """Red team 1, #7: What arrives is checked before it is accepted."""
    url, _ = http_mirror(bucket, **misbehaviour)
    data = tmp_path / "data"
    done = sketch(*download_args(data, url, "circle"))
    one_error_line(done, "circle.ndjson", message, "run again")
    assert not (data / "downloads/full/simplified/circle.ndjson").exists()


def test_a_download_with_the_right_checksum_is_accepted(bucket, tmp_path, http_mirror):
    """Red team 1, #7: What arrives is checked before it is accepted."""
    url, _ = http_mirror(bucket, md5=True)
    data = tmp_path / "data"
    assert sketch(*download_args(data, url, "circle")).returncode == 0
    assert (data / "downloads/full/simplified/circle.ndjson").read_bytes() == (
        bucket / "full/simplified/circle.ndjson"
    ).read_bytes()


def test_a_server_that_trickles_is_timed_out(bucket, tmp_path, http_mirror):
    """Red team 1, #17: A stalled or silent server is timed out with a clear message."""
    url, _ = http_mirror(bucket, delay=0.3, piece=1)
    started = time.monotonic()
    done = sketch(*download_args(tmp_path / "data", url, "circle", "--timeout", "1", "--retries", "0"))
    one_error_line(done, "circle.ndjson", "stalled", "gave up after 0 retries")
    assert time.monotonic() - started < 30


def test_a_server_that_never_answers_is_named_as_such(tmp_path, silent_server):
    """Red team 1, #21: A stalled or silent server is timed out with a clear message."""
    done = sketch(*download_args(tmp_path / "data", silent_server, "circle", "--timeout", "1", "--retries", "1"))
    one_error_line(done, "circle.ndjson", "no answer within 1 s", "gave up after 1 retries")

import json

from sketchrnn_cli.data.reader import Drawing, Skipped, read_lines

GOOD = json.dumps({"word": "cat", "key_id": "1", "recognized": True, "drawing": [[[0, 5], [0, 5]]]}).encode()


def test_bad_lines_are_skipped_with_file_line_and_reason_and_reading_goes_on():
    lines = [
        GOOD,
        b"{not json",
        b"\xff\xfe not utf-8",
        json.dumps({"word": "cat", "drawing": []}).encode(),
        json.dumps({"word": "cat", "drawing": [[[1], [1]]]}).encode(),
        b'{"word": "cat", "drawing": [[[1, NaN], [1, 2]]]}',
        json.dumps({"word": "cat", "drawing": [[[1, 2], [1]]]}).encode(),
        json.dumps({"word": "cat"}).encode(),
        b"[" * 100000 + b"]" * 100000,
        b"",
        GOOD,
    ]
    records = list(read_lines(lines, "cats.ndjson"))
    assert [type(r) for r in records] == [Drawing] + [Skipped] * 8 + [Drawing]
    assert [r.line for r in records] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]
    reasons = [r.reason for r in records if isinstance(r, Skipped)]
    for reason, expected in zip(
        reasons,
        ["bad JSON", "UTF-8", "empty", "fewer than 2", "not finite", "different lengths", "'drawing' field", "JSON"],
    ):
        assert expected in reason
    assert str(records[1]).startswith("cats.ndjson:2: bad JSON")


def test_bare_drawing_array_is_accepted():
    (record,) = read_lines([b"[[[0, 5], [0, 5]]]"], "mine.ndjson")
    assert isinstance(record, Drawing) and record.word is None and record.sequence.shape == (2, 3)


def test_fields_are_kept():
    (record,) = read_lines([GOOD], "f")
    assert (record.word, record.key_id, record.recognized, record.line) == ("cat", "1", True, 1)

"""Fuzzing the parser and the ndjson reader: every input parses into a valid stroke-3
sequence or is rejected with a ValueError naming why; the reader never stops early."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketchrnn_cli.data.reader import BYTE_ORDER_MARK, Drawing, Skipped, read_lines
from sketchrnn_cli.data.strokes import parse_drawing

CASES = {"parser": 0, "reader": 0}  # how many inputs ran, printed by the last test

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5),
    max_leaves=40,
)
numbers = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e-300, max_value=1e-300)
)
strokes = st.lists(st.lists(numbers, max_size=12), min_size=0, max_size=3)
drawing_like = st.lists(strokes, max_size=6) | json_values


def assert_valid_or_rejected(value):
    try:
        sequence = parse_drawing(value)
    except ValueError as error:
        assert str(error)
        return
    assert sequence.dtype == np.float32 and sequence.ndim == 2 and sequence.shape[1] == 3
    assert len(sequence) >= 1 and np.isfinite(sequence).all()
    assert set(np.unique(sequence[:, 2])) <= {0.0, 1.0}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawing_like)
def test_any_json_value_parses_or_is_rejected_with_a_reason(value):
    CASES["parser"] += 1
    assert_valid_or_rejected(value)


def test_subnormal_coordinates_are_rejected_not_nan():
    for drawing in ([[[0, 1e-320], [0, 1e-320]]], [[[0, 1e-320], [0, 1e-320], [0, 16]]], [[[0, 5e-7], [0, 0]]]):
        assert_valid_or_rejected(drawing)


def test_deep_nesting_and_huge_strokes():
    deep = [[[1, 2], [3, 4]]]
    for _ in range(200):
        deep = [deep]
    assert_valid_or_rejected(deep)
    xs = np.random.default_rng(0).integers(0, 255, 100_000).tolist()
    sequence = parse_drawing([[xs, xs[::-1]]], max_length=250)
    assert sequence.shape == (250, 3)
    raw = parse_drawing(
        [[np.linspace(0, 5000, 100_000).tolist(), np.linspace(0, 10, 100_000).tolist(), list(range(100_000))]]
    )
    assert len(raw) == 2  # a straight raw line simplifies to its two ends


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode()), max_size=8))
def test_the_reader_reports_every_bad_line_and_keeps_reading(lines):
    CASES["reader"] += 1
    good = json.dumps({"word": "cat", "key_id": "1", "drawing": [[[0, 9], [0, 9]]]}).encode()
    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines] + [good]
    records = list(read_lines(lines, "fuzz.ndjson"))
    assert isinstance(records[-1], Drawing) and records[-1].line == len(lines)
    content = [lines[0].removeprefix(BYTE_ORDER_MARK), *lines[1:]]  # a leading byte-order mark is not content
    assert len(records) == sum(1 for line in content if line.strip())
    for record in records:
        if isinstance(record, Skipped):
            assert record.reason and record.source == "fuzz.ndjson"

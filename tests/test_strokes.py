import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sketchrnn_cli.data.strokes import (
    MIN_EXTENT,
    parse_drawing,
    sketch_rnn_to_stroke3,
    stroke3_to_strokes,
    stroke_count,
)


def test_two_strokes_become_unit_box_offsets_with_pen_lifts():
    drawing = [[[0, 10], [0, 0]], [[10, 10], [0, 5]]]
    expected = [[0, 0, 0], [1, 0, 1], [0, 0, 0], [0, 0.5, 1]]
    np.testing.assert_allclose(parse_drawing(drawing), expected)


def test_first_row_keeps_the_start_position_in_the_box():
    drawing = [[[5, 0], [0, 10]]]  # starts top-right of its box, goes down-left
    sequence = parse_drawing(drawing)
    np.testing.assert_allclose(sequence[0], [0.5, 0, 0])
    np.testing.assert_allclose(sequence[1], [-0.5, 1, 1])


def test_aspect_ratio_is_kept():
    wide = parse_drawing([[[0, 200], [0, 50]]])
    assert wide[1, 0] == pytest.approx(1.0) and wide[1, 1] == pytest.approx(0.25)


def test_same_shape_at_any_size_and_place_gives_the_same_sequence():
    small = [[[10, 20, 20], [10, 10, 30]]]
    big = [[[100, 200, 200], [300, 300, 500]]]
    np.testing.assert_allclose(parse_drawing(small), parse_drawing(big), atol=1e-6)


def test_long_drawings_are_cut_and_end_with_the_pen_up():
    drawing = [[list(range(100)), list(range(100))]]
    sequence = parse_drawing(drawing, max_length=10)
    assert sequence.shape == (10, 3)
    assert sequence[-1, 2] == 1 and sequence[:-1, 2].sum() == 0


def test_raw_drawing_lands_in_the_simplified_frame():
    # A straight raw line with many points, floats and times: RDP keeps the two ends.
    xs = np.linspace(300.5, 700.5, 50).tolist()
    ys = np.linspace(100.25, 300.25, 50).tolist()
    times = list(range(50))
    sequence = parse_drawing([[xs, ys, times]])
    # 255 x 127.5 in Google's frame, rounded to the integer grid (127.49... -> 127).
    np.testing.assert_allclose(sequence, [[0, 0, 0], [1, 127 / 255, 1]], atol=1e-6)


def test_raw_and_simplified_versions_of_a_real_drawing_agree(shared_quickdraw):
    simplified = json.loads((shared_quickdraw / "full/simplified/cat.ndjson").open().readline())
    raw = json.loads((shared_quickdraw / "full/raw/cat.ndjson").open().readline())
    assert raw["key_id"] == simplified["key_id"]
    a, b = parse_drawing(simplified["drawing"]), parse_drawing(raw["drawing"])
    assert stroke_count(a) == stroke_count(b)
    ends_a = [s[-1] for s in stroke3_to_strokes(a)]
    ends_b = [s[-1] for s in stroke3_to_strokes(b)]
    np.testing.assert_allclose(ends_a, ends_b, atol=0.03)  # within ~8 of 255 pixels


@pytest.mark.parametrize(
    "drawing, reason",
    [
        ([], "empty"),
        ("cat", "list of strokes"),
        ([[[1], [1]]], "fewer than 2 points"),
        ([[[1, 2], [1]]], "different lengths"),
        ([[[1, 2]]], "[x, y]"),
        ([[[1, float("nan")], [1, 2]]], "not finite"),
        ([[[1, 1e12], [1, 2]]], "exceed"),
        ([[["a", "b"], [1, 2]]], "not numbers"),
        ([[[1, 2], [1, 2], [0]]], "t of a different length"),
        ([[[[1, 2]], [[1, 2]]]], "nested lists"),
        ([[[1, [2, 3]], [1, 2]]], "nested lists"),
        ([[[], []]], "no points"),
    ],
)
def test_malformed_drawings_are_rejected_with_the_reason(drawing, reason):
    with pytest.raises(ValueError, match=reason if reason != "[x, y]" else r"\[x, y\]"):
        parse_drawing(drawing)


def test_stroke3_round_trips_to_strokes():
    drawing = [[[0, 10, 10], [0, 0, 10]], [[0, 5], [10, 10]]]
    strokes = stroke3_to_strokes(parse_drawing(drawing))
    assert [len(s) for s in strokes] == [3, 2]
    np.testing.assert_allclose(strokes[1], [[0, 1], [0.5, 1]], atol=1e-6)


def test_sketch_rnn_offsets_convert_like_absolute_points():
    stroke3 = np.array([[10, 10, 0], [10, 0, 1], [0, 10, 1]], dtype=np.int16)
    same_as_points = parse_drawing([[[10, 20], [10, 10]], [[20], [20]]])
    np.testing.assert_allclose(sketch_rnn_to_stroke3(stroke3), same_as_points, atol=1e-6)


coordinate = st.integers(0, 255) | st.floats(-5000, 5000, allow_nan=False)
stroke = st.integers(1, 30).flatmap(
    lambda n: st.tuples(st.lists(coordinate, min_size=n, max_size=n), st.lists(coordinate, min_size=n, max_size=n))
)
drawings = st.lists(stroke.map(lambda xy: [list(xy[0]), list(xy[1])]), min_size=1, max_size=8).filter(
    lambda d: sum(len(s[0]) for s in d) >= 2
)


@settings(max_examples=300, deadline=None)
@given(drawings, st.integers(2, 300))
def test_any_valid_drawing_gives_a_finite_float32_sequence_with_pen_bits(drawing, max_length):
    points = np.array([[x, y] for stroke in drawing for x, y in zip(*stroke)], dtype=np.float64)
    extent = np.ptp(points, axis=0).max()
    assume(extent == 0 or extent >= MIN_EXTENT)  # smaller smudges are rejected (test_fuzz)
    sequence = parse_drawing(drawing, max_length)
    assert sequence.dtype == np.float32 and sequence.ndim == 2 and sequence.shape[1] == 3
    assert 1 <= len(sequence) <= max_length
    assert np.isfinite(sequence).all()
    assert set(np.unique(sequence[:, 2])) <= {0.0, 1.0} and sequence[-1, 2] == 1
    absolute = np.cumsum(sequence[:, :2].astype(np.float64), axis=0)
    assert absolute.min() >= -1e-5 and absolute.max() <= 1 + 1e-5


@settings(max_examples=200, deadline=None)
@given(drawings)
def test_simplified_drawings_keep_every_point_and_stroke(drawing):
    drawing = [[[int(abs(v)) % 256 for v in s[0]], [int(abs(v)) % 256 for v in s[1]]] for s in drawing]
    sequence = parse_drawing(drawing, max_length=1000)
    assert len(sequence) == sum(len(s[0]) for s in drawing)
    assert stroke_count(sequence) == len(drawing)


def test_raw_drawings_simplify_as_google_simplified_them(shared_quickdraw):
    """The raw drawings of the mirror that are also in its simplified files: our parse of the
    raw one equals the parse of Google's simplified one for at least 85% of them."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "bench_simplify.py"
    done = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["pairs"] > 5000
    assert result["identical"] >= 0.85


def test_resampling_and_rounding_give_integer_points_on_the_simplified_grid():
    sequence = parse_drawing([[[0.0, 100.0, 200.0], [0.0, 0.5, 0.0], [0, 10, 20]]])
    assert len(sequence) == 2  # a nearly straight stroke: its two ends
    points = np.cumsum(sequence[:, :2], axis=0) * 255
    np.testing.assert_allclose(points, np.round(points), atol=1e-4)


def test_a_raw_drawing_costs_work_bounded_by_its_size_and_the_points_kept():
    """Red team 2, #7: a 4,000-point raw zigzag (87 KB) took 12 s of CPU, 40,000 points over 2 minutes:
    the 1-pixel resampling made a million points before the max_length cut. A generous guard, not a benchmark."""
    import time

    for count in (4_000, 40_000):
        zigzag = [[[float(i % 2) * 800 for i in range(count)], [i * 0.2 for i in range(count)], list(range(count))]]
        started = time.process_time()
        sequence = parse_drawing(zigzag, 250)
        assert time.process_time() - started < 2.0 and len(sequence) == 250


def test_booleans_are_not_coordinates():
    """Red team 2, cosmetic: [true, 5] was taken as [1, 5]."""
    with pytest.raises(ValueError, match="true/false"):
        parse_drawing([[[True, 5, 9], [0, 1, 2]]])


def test_a_number_of_thousands_of_digits_is_bad_json_not_a_python_limit():
    """Red team 2, cosmetic: the message named sys.set_int_max_str_digits."""
    from sketchrnn_cli.data.reader import parse_line

    with pytest.raises(ValueError, match="thousands of digits") as caught:
        parse_line(b'{"drawing": [[[' + b"9" * 5000 + b", 5], [0, 1]]]}", "f.ndjson", 1)
    assert "set_int_max_str_digits" not in str(caught.value)

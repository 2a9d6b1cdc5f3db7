"""One drawing -> a stroke-delta sequence. Pure NumPy: no TensorFlow, no I/O.

Stroke formats
--------------
Quick, Draw! ``drawing`` (input), a list of strokes:

* simplified: ``[[x0, x1, ...], [y0, y1, ...]]`` per stroke, integers 0..255, the drawing
  aligned to the top-left corner and scaled so its longer side is 255 (aspect kept), then
  Ramer-Douglas-Peucker simplified with epsilon 2.0.
* raw: ``[[x...], [y...], [t...]]`` per stroke, float screen pixels and milliseconds.

stroke-3 (output), float32 ``[N, 3]``, one row per point: ``(dx, dy, pen_lift)``.

* ``dx, dy``: offset from the previous point; the first row is the offset of the first point
  from the top-left corner of the drawing's box, so the start position is not lost.
* Units: the drawing is moved to the top-left corner and scaled so its longer side is 1,
  keeping the aspect ratio (the TF tutorial scales each axis separately, which turns a
  circle and a tall ellipse into the same thing). Offsets therefore lie in [-1, 1], and the
  same shape drawn at any size or screen position gives the same sequence.
* ``pen_lift``: 1 on the last point of each stroke (the pen leaves the paper after it), else 0.
  This is Sketch-RNN's stroke-3 convention, so its ``.npz`` files convert without loss.
* Raw drawings are simplified as Google simplified its published drawings first (box to
  0..255, 1-pixel resampling, RDP with epsilon 2.0 to the line, rounding), so a drawing a user
  makes looks like the drawings the model trained on.
* Drawings longer than ``max_length`` points keep their first ``max_length`` points and end
  with the pen lifted.
"""

from __future__ import annotations

import numpy as np

from ..config import DEFAULT_MAX_LENGTH

SIMPLIFIED_SIDE = 255.0  # longer side of a simplified drawing, in its pixels
RDP_EPSILON = 2.0  # Google's simplification tolerance, in those pixels
MAX_COORDINATE = 1e5  # larger than any screen; beyond it a coordinate is corrupt
MIN_EXTENT = 1e-6  # a drawing this small across (but not a dot) cannot be scaled to the unit box


def parse_drawing(drawing, max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
    """A Quick, Draw! ``drawing`` (simplified or raw) -> float32 stroke-3 ``[N, 3]``.

    Raises ValueError naming what is wrong with the drawing.
    """
    points, lengths, is_raw = _validated_points(drawing)
    if is_raw:
        strokes = _simplify(np.split(points, np.cumsum(lengths)[:-1]), max_length)
        points, lengths = np.concatenate(strokes), [len(s) for s in strokes]
    return points_to_stroke3(points, _stroke_ends(lengths), max_length)


def points_to_stroke3(points: np.ndarray, stroke_ends: np.ndarray, max_length: int) -> np.ndarray:
    """Absolute points ``[P, 2]`` and a mask of stroke ends ``[P]`` -> normalised stroke-3."""
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    points = _to_unit_box(points[:max_length].astype(np.float64))
    pen = stroke_ends[:max_length].astype(np.float32)
    pen[-1] = 1.0
    deltas = np.diff(points, axis=0, prepend=np.zeros((1, 2))).astype(np.float32)
    if not np.isfinite(deltas).all():  # the checks above should make this impossible
        raise ValueError("drawing does not scale to finite offsets")
    return np.column_stack([deltas, pen])


def stroke3_to_strokes(sequence: np.ndarray) -> list[np.ndarray]:
    """Stroke-3 -> a list of absolute ``[n, 2]`` point arrays, one per stroke (for drawing)."""
    sequence = np.asarray(sequence, dtype=np.float64)
    points = np.cumsum(sequence[:, :2], axis=0)
    ends = np.flatnonzero(sequence[:, 2] > 0.5) + 1
    return [s for s in np.split(points, ends) if len(s)]


def drawing_svg(sequence, side: int = 120) -> str:
    """A stroke-3 drawing (unit box) as an SVG of ``side`` pixels, one polyline per stroke."""
    inner = side - 10
    lines = []
    for stroke in stroke3_to_strokes(np.asarray(sequence)):
        points = " ".join(f"{5 + x * inner:.1f},{5 + y * inner:.1f}" for x, y in stroke)
        lines.append(f'<polyline points="{points}"/>')
    return (
        f'<svg class="drawing" width="{side}" height="{side}" viewBox="0 0 {side} {side}" fill="none" '
        f'stroke="#1d2433" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{"".join(lines)}</svg>'
    )


def sketch_rnn_to_stroke3(sequence: np.ndarray, max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
    """A Sketch-RNN ``.npz`` stroke-3 array (integer offsets, any scale) -> our stroke-3."""
    sequence = np.asarray(sequence)
    if sequence.ndim != 2 or sequence.shape[1] != 3 or sequence.dtype.kind not in "iuf":
        raise ValueError(f"expected a numeric [N, 3] array, got shape {sequence.shape}")
    if len(sequence) < 2:
        raise ValueError("drawing has fewer than 2 points")
    _check_finite_and_bounded(sequence[:, :2])
    points = np.cumsum(sequence[:, :2].astype(np.float64), axis=0)
    _check_finite_and_bounded(points)
    _check_extent(points)
    return points_to_stroke3(points, sequence[:, 2] > 0.5, max_length)


def first_strokes(sequence: np.ndarray, count: int) -> np.ndarray | None:
    """The first ``count`` strokes as a drawing of their own (re-normalised to the unit box),
    as the game sees a drawing in progress; None when they hold fewer than 2 points."""
    ends = np.flatnonzero(sequence[:, 2] > 0.5)
    if count < 1 or count > len(ends) or ends[count - 1] < 1:
        return None
    prefix = sequence[: ends[count - 1] + 1]
    points = np.cumsum(prefix[:, :2].astype(np.float64), axis=0)
    return points_to_stroke3(points, prefix[:, 2] > 0.5, len(prefix))


def steps_after_stride(length, stride: int):
    """Real steps left of ``length`` after layers that shorten a sequence by ``stride``:
    ceil(length / stride). Plain arithmetic, so it serves ints, NumPy and tensors alike."""
    return (length + stride - 1) // stride


def stroke_count(sequence: np.ndarray) -> int:
    return int(np.count_nonzero(sequence[:, 2] > 0.5))


def _validated_points(drawing) -> tuple[np.ndarray, list[int], bool]:
    """Checks a drawing's nesting and values; returns all its points [P, 2], the points per
    stroke, and whether it is raw. The strokes are joined in Python and converted once:
    one NumPy call per drawing rather than several per stroke."""
    if not isinstance(drawing, list):
        raise ValueError(f"drawing must be a list of strokes, got {type(drawing).__name__}")
    if not drawing:
        raise ValueError("drawing is empty")
    xs, ys, lengths, has_times = [], [], [], False
    for index, stroke in enumerate(drawing):
        if not isinstance(stroke, list) or len(stroke) not in (2, 3):
            raise ValueError(f"stroke {index} must be [x, y] or [x, y, t]")
        x, y = stroke[0], stroke[1]
        if not isinstance(x, list) or not isinstance(y, list):  # [10, 20]: a point, where a stroke should be
            raise ValueError(
                f"stroke {index} must be [[x0, x1, ...], [y0, y1, ...]] (its xs, then its ys), got {_brief(stroke)}"
            )
        if not x or len(x) != len(y):
            raise ValueError(f"stroke {index} has no points or x/y of different lengths")
        if len(stroke) == 3:
            has_times = True
            if not isinstance(stroke[2], list) or len(stroke[2]) != len(x):
                raise ValueError(f"stroke {index} has t of a different length than x")
        xs += x
        ys += y
        lengths.append(len(x))
    if any(type(v) is bool for v in xs) or any(type(v) is bool for v in ys):  # NumPy would take True as 1
        raise ValueError("a stroke has coordinates that are not numbers (true/false)")
    try:
        xy = np.array([xs, ys])
    except (ValueError, OverflowError):
        xy = np.empty((2, 0, 0))
    if xy.ndim != 2 or xy.dtype.kind == "O":
        raise ValueError("a stroke has nested lists where coordinates should be")
    if xy.dtype.kind not in "iuf":
        raise ValueError("a stroke has coordinates that are not numbers")
    if len(xs) < 2:
        raise ValueError("drawing has fewer than 2 points")
    _check_finite_and_bounded(xy)
    _check_extent(xy.T)
    return xy.T.astype(np.float64), lengths, has_times or xy.dtype.kind == "f"


def _brief(value: object, limit: int = 40) -> str:
    """A value as JSON, cut to ``limit`` characters, to show in an error."""
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_finite_and_bounded(array: np.ndarray) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("coordinates are not finite (NaN or infinity)")
    if array.size and np.abs(array).max() > MAX_COORDINATE:
        raise ValueError(f"coordinates exceed {MAX_COORDINATE:g} in magnitude")


def _check_extent(points: np.ndarray) -> None:
    """A dot (every point the same) is a drawing; a smudge a millionth of a pixel across is not."""
    side = float(np.ptp(points, axis=0).max()) if len(points) else 0.0
    if 0.0 < side < MIN_EXTENT:
        raise ValueError(f"drawing is {side:.3g} across, too small to scale (under {MIN_EXTENT:g})")


def _stroke_ends(lengths: list[int]) -> np.ndarray:
    ends = np.zeros(sum(lengths), dtype=bool)
    ends[np.cumsum(lengths) - 1] = True
    return ends


def _to_unit_box(points: np.ndarray) -> np.ndarray:
    """Moves the box of the points to the origin and scales its longer side to 1."""
    points = points - points.min(axis=0)
    side = points.max()
    return points / side if side > 0 else points


MAX_RESAMPLED = 20_000  # points of a raw drawing after resampling: its path in 255-pixel units, at most this


def _simplify(strokes: list[np.ndarray], max_length: int) -> list[np.ndarray]:
    """Raw strokes -> Google's simplified drawing: box to the origin with its longer side 255,
    every stroke resampled at 1-pixel spacing, Ramer-Douglas-Peucker (epsilon 2.0, distance to
    the infinite line), rounded to integers. This reproduces the published simplified drawings
    exactly for ~85% of the raw ones (bench/bench_simplify.py), and differs by a pixel or so
    for the rest.

    The work is bounded whatever the drawing: a path longer than MAX_RESAMPLED pixels (a
    4,000-point zigzag is a million) is resampled more coarsely, its own points kept, so RDP
    sees at most MAX_RESAMPLED points more than the input has; and strokes after the first
    ``max_length`` kept points are not simplified (each stroke is simplified on its own, and
    those points are cut anyway)."""
    points = np.concatenate(strokes)
    origin, side = points.min(axis=0), np.ptp(points, axis=0).max()
    scale = SIMPLIFIED_SIDE / side if side > 0 else 1.0
    scaled = [(s - origin) * scale for s in strokes]
    path = sum(float(_length(*np.diff(s, axis=0).T).sum()) for s in scaled if len(s) > 1)
    spacing = max(1.0, path / MAX_RESAMPLED)
    simplified, kept = [], 0
    for stroke in scaled:
        simplified.append(np.round(_rdp(_resample(stroke, spacing), RDP_EPSILON)))
        kept += len(simplified[-1])
        if kept >= max_length:
            break
    return simplified


def _resample(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` along the stroke's path, its last point kept."""
    if len(points) < 2:
        return points
    along = np.concatenate([[0.0], np.cumsum(_length(*np.diff(points, axis=0).T))])
    if along[-1] == 0:
        return points[:1]
    stops = np.arange(0.0, along[-1], spacing)
    stops = np.append(stops, along[-1]) if stops[-1] < along[-1] else stops
    if spacing > 1.0:  # coarser than Google's: the stroke's own points too, so no corner is lost
        stops = np.union1d(stops, along)
    return np.column_stack([np.interp(stops, along, points[:, 0]), np.interp(stops, along, points[:, 1])])


RDP_BUDGET = 1_000_000  # distances a stroke's simplification may compute; real strokes need a few thousand


def _rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Ramer-Douglas-Peucker, breadth first: each pass splits every open segment at once, one
    vectorised step per level of the recursion rather than a Python loop per kept point. A
    zigzag's ties split one corner a level (quadratic work): past RDP_BUDGET distances, the
    segments still open keep all their points (the max_length cut comes after)."""
    if len(points) < 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    firsts, lasts = np.array([0]), np.array([len(points) - 1])
    spent = 0
    while len(firsts):
        open_ = lasts - firsts >= 2
        firsts, lasts = firsts[open_], lasts[open_]
        if not len(firsts):
            break
        counts = lasts - firsts - 1
        spent += int(counts.sum())
        if spent > RDP_BUDGET:
            for first, last in zip(firsts, lasts):
                keep[first:last] = True
            break
        starts = np.cumsum(counts) - counts  # where each segment's interior begins in the flat arrays
        segment = np.repeat(np.arange(len(firsts)), counts)
        inner = np.arange(counts.sum()) - starts[segment] + firsts[segment] + 1
        distances = _distance_to_line(points[inner], points[firsts][segment], points[lasts][segment])
        farthest = np.maximum.reduceat(distances, starts)
        first_hits = np.flatnonzero(distances == farthest[segment])
        _, at = np.unique(segment[first_hits], return_index=True)  # the first farthest point, as argmax takes
        splits = inner[first_hits[at]]
        far = farthest > epsilon
        keep[splits[far]] = True
        firsts = np.concatenate([firsts[far], splits[far]])
        lasts = np.concatenate([splits[far], lasts[far]])
    return points[keep]


def _distance_to_line(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance of each point to the infinite line through its start and end (rows), or to the
    start itself where they meet."""
    direction = end - start
    length = _length(direction[:, 0], direction[:, 1])
    across = np.abs(direction[:, 0] * (points[:, 1] - start[:, 1]) - direction[:, 1] * (points[:, 0] - start[:, 0]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length == 0.0, _length(*(points - start).T), across / np.where(length == 0.0, 1.0, length))


def _length(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """sqrt(dx² + dy²), not np.hypot: IEEE arithmetic gives these bits in every language, so the
    draw page's JavaScript copy (use/web/strokes.js) simplifies to the same points; hypot's
    last bit differs between C libraries. Coordinates are bounded, so nothing overflows."""
    return np.sqrt(dx * dx + dy * dy)

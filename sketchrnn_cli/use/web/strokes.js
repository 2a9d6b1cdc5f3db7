// The page's copy of sketchrnn_cli/data/strokes.py: a raw drawing -> the model's stroke-3 input.
// Every step follows the Python step by step in float64 (rounding half to even as NumPy does,
// sums in NumPy's order), so both give the same numbers: tests/test_web_export.py holds this file
// to the Python on real drawings in Chromium. Change one, change the other.
"use strict";

const SketchStrokes = (() => {
  const SIMPLIFIED_SIDE = 255, RDP_EPSILON = 2, MAX_COORDINATE = 1e5, MIN_EXTENT = 1e-6;
  const MAX_RESAMPLED = 20000, RDP_BUDGET = 1000000;

  // A Quick, Draw! drawing (raw or simplified) -> {rows: Float32Array of N * 3, length: N};
  // throws an Error naming what is wrong, as parse_drawing raises ValueError.
  function parseDrawing(drawing, maxLength) {
    const {strokes, isRaw} = validated(drawing);
    const kept = isRaw ? simplify(strokes, maxLength) : strokes;
    return pointsToStroke3(kept, maxLength);
  }

  function validated(drawing) {
    if (!Array.isArray(drawing)) throw new Error("drawing must be a list of strokes");
    if (!drawing.length) throw new Error("drawing is empty");
    let hasTimes = false, allIntegers = true, count = 0;
    const strokes = drawing.map((stroke, index) => {
      if (!Array.isArray(stroke) || (stroke.length !== 2 && stroke.length !== 3)) {
        throw new Error(`stroke ${index} must be [x, y] or [x, y, t]`);
      }
      const [x, y] = stroke;
      if (!Array.isArray(x) || !Array.isArray(y)) throw new Error(`stroke ${index} must be [[x0, x1, ...], [y0, y1, ...]]`);
      if (!x.length || x.length !== y.length) throw new Error(`stroke ${index} has no points or x/y of different lengths`);
      if (stroke.length === 3) {
        hasTimes = true;
        if (!Array.isArray(stroke[2]) || stroke[2].length !== x.length) {
          throw new Error(`stroke ${index} has t of a different length than x`);
        }
      }
      for (const value of x.concat(y)) {
        if (typeof value !== "number") throw new Error("a stroke has coordinates that are not numbers");
        if (!Number.isFinite(value)) throw new Error("coordinates are not finite (NaN or infinity)");
        if (Math.abs(value) > MAX_COORDINATE) throw new Error(`coordinates exceed ${MAX_COORDINATE} in magnitude`);
        allIntegers = allIntegers && Number.isInteger(value);
      }
      count += x.length;
      return {x: Float64Array.from(x), y: Float64Array.from(y)};
    });
    if (count < 2) throw new Error("drawing has fewer than 2 points");
    const box = bounds(strokes), side = Math.max(box.maxX - box.minX, box.maxY - box.minY);
    if (side > 0 && side < MIN_EXTENT) throw new Error("drawing is too small to scale");
    return {strokes, isRaw: hasTimes || !allIntegers};
  }

  function bounds(strokes) {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const {x, y} of strokes) {
      for (let i = 0; i < x.length; i++) {
        minX = Math.min(minX, x[i]); maxX = Math.max(maxX, x[i]);
        minY = Math.min(minY, y[i]); maxY = Math.max(maxY, y[i]);
      }
    }
    return {minX, minY, maxX, maxY};
  }

  // _simplify: box to the origin with its longer side 255, 1-pixel resampling (coarser past
  // MAX_RESAMPLED pixels of path), RDP, rounding; strokes after max_length kept points are dropped.
  function simplify(strokes, maxLength) {
    const box = bounds(strokes), side = Math.max(box.maxX - box.minX, box.maxY - box.minY);
    const scale = side > 0 ? SIMPLIFIED_SIDE / side : 1;
    const scaled = strokes.map(({x, y}) => ({
      x: x.map((v) => (v - box.minX) * scale), y: y.map((v) => (v - box.minY) * scale),
    }));
    let path = 0;  // Python's sum() of NumPy's per-stroke sums
    for (const stroke of scaled) if (stroke.x.length > 1) path += pairwiseSum(steps(stroke));
    const spacing = Math.max(1, path / MAX_RESAMPLED);
    const simplified = [];
    let kept = 0;
    for (const stroke of scaled) {
      const points = rdp(resample(stroke, spacing), RDP_EPSILON);
      simplified.push({x: points.x.map(roundHalfEven), y: points.y.map(roundHalfEven)});
      kept += points.x.length;
      if (kept >= maxLength) break;
    }
    return simplified;
  }

  function steps({x, y}) {
    const lengths = new Float64Array(x.length - 1);
    for (let i = 1; i < x.length; i++) lengths[i - 1] = length(x[i] - x[i - 1], y[i] - y[i - 1]);
    return lengths;
  }

  // NumPy's pairwise summation (what ndarray.sum does on a contiguous float64 array).
  function pairwiseSum(values, start = 0, count = values.length) {
    if (count < 8) {
      let sum = -0;
      for (let i = start; i < start + count; i++) sum += values[i];
      return sum;
    }
    if (count <= 128) {
      const r = values.slice(start, start + 8);
      let i = 8;
      for (; i < count - (count % 8); i += 8) for (let k = 0; k < 8; k++) r[k] += values[start + i + k];
      let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < count; i++) sum += values[start + i];
      return sum;
    }
    let half = Math.floor(count / 2);
    half -= half % 8;
    return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
  }

  // _resample: points every `spacing` along the path (np.arange, np.interp), its last point kept.
  function resample(stroke, spacing) {
    const n = stroke.x.length;
    if (n < 2) return stroke;
    const along = new Float64Array(n), lengths = steps(stroke);
    for (let i = 1; i < n; i++) along[i] = along[i - 1] + lengths[i - 1];
    const total = along[n - 1];
    if (total === 0) return {x: stroke.x.slice(0, 1), y: stroke.y.slice(0, 1)};
    let stops = [];
    const count = Math.ceil(total / spacing);
    for (let i = 0; i < count; i++) stops.push(i * spacing);
    if (stops[stops.length - 1] < total) stops.push(total);
    if (spacing > 1) stops = Array.from(new Set(stops.concat(Array.from(along)))).sort((a, b) => a - b);
    return {x: interp(stops, along, stroke.x), y: interp(stops, along, stroke.y)};
  }

  // np.interp for stops within [along[0], along[-1]]: the last j with along[j] <= stop.
  function interp(stops, along, values) {
    const result = new Float64Array(stops.length), last = along.length - 1;
    let j = 0;
    stops.forEach((stop, i) => {
      while (j < last && along[j + 1] <= stop) j++;
      if (j === last || along[j] === stop) { result[i] = values[j]; return; }
      const slope = (values[j + 1] - values[j]) / (along[j + 1] - along[j]);
      result[i] = slope * (stop - along[j]) + values[j];
    });
    return result;
  }

  // _rdp: breadth first, each level splitting every open segment at its first farthest point;
  // past RDP_BUDGET distances the segments still open keep all their points.
  function rdp(points, epsilon) {
    const n = points.x.length;
    if (n < 3) return points;
    const keep = new Uint8Array(n);
    keep[0] = keep[n - 1] = 1;
    let segments = [[0, n - 1]], spent = 0;
    while (segments.length) {
      segments = segments.filter(([first, last]) => last - first >= 2);
      if (!segments.length) break;
      for (const [first, last] of segments) spent += last - first - 1;
      if (spent > RDP_BUDGET) {
        for (const [first, last] of segments) keep.fill(1, first, last);
        break;
      }
      const heads = [], tails = [];
      for (const [first, last] of segments) {
        let farthest = -Infinity, split = first + 1;
        for (let i = first + 1; i < last; i++) {
          const distance = distanceToLine(points, i, first, last);
          if (distance > farthest) { farthest = distance; split = i; }
        }
        if (farthest > epsilon) {
          keep[split] = 1;
          heads.push([first, split]);
          tails.push([split, last]);
        }
      }
      segments = heads.concat(tails);
    }
    const x = [], y = [];
    for (let i = 0; i < n; i++) if (keep[i]) { x.push(points.x[i]); y.push(points.y[i]); }
    return {x: Float64Array.from(x), y: Float64Array.from(y)};
  }

  function distanceToLine({x, y}, i, first, last) {
    const dx = x[last] - x[first], dy = y[last] - y[first], across = length(dx, dy);
    if (across === 0) return length(x[i] - x[first], y[i] - y[first]);
    return Math.abs(dx * (y[i] - y[first]) - dy * (x[i] - x[first])) / across;
  }

  // strokes.py's _length: sqrt of the sum of squares, whose bits IEEE fixes (Math.hypot's do not).
  function length(dx, dy) {
    return Math.sqrt(dx * dx + dy * dy);
  }

  function roundHalfEven(value) {
    const rounded = Math.round(value);
    return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  }

  // points_to_stroke3: the first maxLength points, box to the origin, longer side 1, offsets
  // from the previous point (float32), pen lifted on each stroke's last point and the last.
  function pointsToStroke3(strokes, maxLength) {
    const xs = [], ys = [], ends = [];
    for (const {x, y} of strokes) {
      for (let i = 0; i < x.length; i++) { xs.push(x[i]); ys.push(y[i]); ends.push(i === x.length - 1 ? 1 : 0); }
    }
    const length = Math.min(xs.length, maxLength);
    let minX = Infinity, minY = Infinity;
    for (let i = 0; i < length; i++) { minX = Math.min(minX, xs[i]); minY = Math.min(minY, ys[i]); }
    let side = -Infinity;
    for (let i = 0; i < length; i++) side = Math.max(side, xs[i] - minX, ys[i] - minY);
    const unit = (v, min) => (side > 0 ? (v - min) / side : v - min);
    const rows = new Float32Array(length * 3);
    let previousX = 0, previousY = 0;
    for (let i = 0; i < length; i++) {
      const x = unit(xs[i], minX), y = unit(ys[i], minY);
      rows[3 * i] = x - previousX;
      rows[3 * i + 1] = y - previousY;
      rows[3 * i + 2] = i === length - 1 ? 1 : ends[i];
      previousX = x; previousY = y;
    }
    return {rows, length};
  }

  return {parseDrawing};
})();

if (typeof module !== "undefined") module.exports = SketchStrokes;

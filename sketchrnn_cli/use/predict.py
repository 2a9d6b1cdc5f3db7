"""The `sketch predict` workflow: your drawings -> top-k categories. No TensorFlow on the
LiteRT path: this module and what it imports stay light."""

from __future__ import annotations

import html
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.reader import Drawing, Skipped, lines_of, read_file, read_lines
from ..data.strokes import drawing_svg, first_strokes, stroke_count
from ..errors import SketchError, describe_os_error
from ..metrics import shown_probability, top_k
from ..model.inference import Predictor


@dataclass(frozen=True)
class Prediction:
    """What the model says of one drawing: its top guesses, and (progressive) its top guess after
    each stroke. In a notebook it shows itself: the drawing beside its guesses."""

    drawing: Drawing  # what was classified: its stroke-3 sequence, and where it came from
    top_k: list[tuple[str, float]]  # (label, probability), most likely first
    by_stroke: list[tuple[int, str, float]] = field(default_factory=list)  # (strokes, top-1, p)
    unsure: bool = False  # the top guess is below the run's unsure_below: "I'm not sure what that is"

    @property
    def label(self) -> str:
        """The most likely category."""
        return self.top_k[0][0]

    @property
    def probability(self) -> float:
        """The most likely category's probability."""
        return self.top_k[0][1]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td><td style='text-align:right'>{shown_probability(p)}</td></tr>"
            for label, p in self.top_k
        )
        return (
            f"<div style='display:flex;gap:12px;align-items:center'>{drawing_svg(self.drawing.sequence)}"
            f"<table>{rows}</table></div>"
        )

    def __repr__(self) -> str:
        guesses = ", ".join(f"{label} {shown_probability(p)}" for label, p in self.top_k)
        return f"<Prediction {'(unsure) ' if self.unsure else ''}{guesses}>"

    def as_json(self) -> dict:
        result = {
            "source": self.drawing.source,
            "line": self.drawing.line,
            "key_id": self.drawing.key_id,
            "predictions": [{"label": label, "probability": round(p, 6)} for label, p in self.top_k],
            "unsure": self.unsure,
        }
        if self.by_stroke:
            result["by_stroke"] = [
                {"strokes": n, "label": label, "probability": round(p, 6)} for n, label, p in self.by_stroke
            ]
        return result

    def first_right_stroke(self) -> int | None:
        """The stroke after which the top guess first matched the drawing's word."""
        return next((n for n, label, _ in self.by_stroke if label == self.drawing.word), None)


# What an input line looks like, for the messages that say a file is not one.
EXPECTED = (
    "one JSON object per line, its strokes as [[x0, x1, ...], [y0, y1, ...]], such as "
    '{"word": "cat", "drawing": [[[10, 60, 110], [80, 20, 80]]]} (or a Kaggle CSV file)'
)
# The first bytes of files people hand over by mistake.
SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (a WebP image, a WAV sound)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or a .keras, .npz or .docx file, which are zips)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89HDF", "an HDF5 file (Keras weights)"),
)
PROBE_LINES = 10  # a file none of whose first 10 lines is a drawing is not a drawings file


def read_inputs(paths: list[str], max_length: int) -> Iterator[Drawing | Skipped]:
    """Drawings from ndjson or Kaggle CSV files ('-' is standard input, ndjson). Every file is
    checked first: one that cannot be read is a SketchError, before anything is classified;
    so is a file that is not text (an image, an archive, a model), or whose first lines are
    none of them drawings (pretty-printed JSON, say): one line naming what it looks like and
    what a line should be. A bad line in a good file is a Skipped, reported per line."""
    for path in paths:
        if path != "-":
            _check_readable(Path(path))
    for path in paths:
        if path == "-":
            yield from _drawings_first(read_lines(lines_of(sys.stdin.buffer), "<stdin>", max_length), "<stdin>")
            continue
        with Path(path).open("rb") as handle:
            kind = _binary_kind(handle.peek(4096)[:4096])
            if kind:
                raise SketchError(f"{path}: looks like {kind}, not drawings; sketch reads {EXPECTED}")
            yield from _drawings_first(read_file(handle, path, max_length), path)


def _check_readable(path: Path) -> None:
    """Without opening it: a named pipe would wait there for its writer."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise SketchError(describe_os_error(error)) from None
    if stat.S_ISDIR(mode):
        raise SketchError(f"{path}: is a folder; name the ndjson or CSV files in it")
    if not os.access(path, os.R_OK):
        raise SketchError(describe_os_error(PermissionError(13, "Permission denied", str(path))))


def _binary_kind(head: bytes) -> str | None:
    """What the first bytes of a file say it is, when it is not text; None for text."""
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[4:8] == b"TFL3":
        return "a TFLite model"
    if b"\0" in head:
        return "binary data"
    return None


def _drawings_first(records: Iterable[Drawing | Skipped], source: str) -> Iterator[Drawing | Skipped]:
    """The records as they come, once one of the first PROBE_LINES is a drawing; a SketchError
    when none of them is (at least two lines, all bad: the file is not one drawing a line)."""
    first: list[Drawing | Skipped] | None = []
    for record in records:
        if first is None:
            yield record
            continue
        first.append(record)
        if isinstance(record, Drawing):
            yield from first
            first = None
        elif len(first) >= PROBE_LINES:
            raise _not_drawings(source, first)
    if first and len(first) >= 2:
        raise _not_drawings(source, first)
    yield from first or []


def _not_drawings(source: str, skipped: list) -> SketchError:
    example = skipped[0]
    return SketchError(
        f"{source}: none of its first {len(skipped)} lines is a drawing (line {example.line}: {example.reason}); "
        f"sketch reads {EXPECTED}"
    )


def is_live(path: str) -> bool:
    """Whether an input arrives over time (a pipe, a terminal), not from a regular file:
    its results are then printed one by one, as soon as each drawing is classified."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode if path == "-" else os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode)


CHUNK = 256  # drawings classified together; memory stays flat however long the input


def classify_stream(
    predictor: Predictor,
    labels: tuple[str, ...],
    records: Iterable[Drawing | Skipped],
    k: int,
    progressive: bool = False,
    chunk: int = CHUNK,
    unsure_below: float = 0.0,
) -> Iterator[Prediction | Skipped]:
    """Predictions and skips in input order, ``chunk`` drawings at a time (inputs may be any
    size; a chunk of 1 answers each drawing of a live input at once)."""
    pending: list[Drawing | Skipped] = []
    for record in records:
        pending.append(record)
        if len(pending) == chunk:
            yield from _classify_chunk(predictor, labels, pending, k, progressive, unsure_below)
            pending = []
    yield from _classify_chunk(predictor, labels, pending, k, progressive, unsure_below)


def _classify_chunk(predictor, labels, records, k, progressive, unsure_below) -> Iterator[Prediction | Skipped]:
    drawings = [r for r in records if isinstance(r, Drawing)]
    predictions = iter(predict(predictor, labels, drawings, k, progressive, unsure_below))
    for record in records:
        yield next(predictions) if isinstance(record, Drawing) else record


def predict(
    predictor: Predictor,
    labels: tuple[str, ...],
    drawings: list[Drawing],
    k: int,
    progressive: bool = False,
    unsure_below: float = 0.0,
) -> list[Prediction]:
    """Top-k per drawing; ``unsure_below``: the run's threshold (config.model.unsure_below)."""
    if not drawings:
        return []
    k = min(k, len(labels))
    probabilities = predictor.predict([d.sequence for d in drawings])
    if not np.isfinite(probabilities).all():
        raise SketchError(
            "the model gave probabilities that are not finite numbers; its weights are damaged (retrain the run)"
        )
    results = []
    for drawing, row in zip(drawings, probabilities):
        best = top_k(row[None], k)[0]
        by_stroke = _by_stroke(predictor, labels, drawing.sequence) if progressive else []
        top = [(labels[i], float(row[i])) for i in best]
        results.append(Prediction(drawing, top, by_stroke, unsure=bool(top[0][1] < unsure_below)))
    return results


def _by_stroke(predictor: Predictor, labels: tuple[str, ...], sequence: np.ndarray) -> list[tuple[int, str, float]]:
    """The top guess after each stroke, as in the game."""
    prefixes = [(n, p) for n in range(1, stroke_count(sequence) + 1) if (p := first_strokes(sequence, n)) is not None]
    if not prefixes:
        return []
    probabilities = predictor.predict([p for _, p in prefixes])
    return [(n, labels[int(np.argmax(row))], float(np.max(row))) for (n, _), row in zip(prefixes, probabilities)]

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
from ..errors import SketchError
from ..metrics import shown_probability, top_k
from ..model.inference import Predictor


@dataclass(frozen=True)
class Prediction:
    """What the model says of one drawing: its top guesses, and (progressive) its top guess after
    each stroke. In a notebook it shows itself: the drawing beside its guesses."""

    drawing: Drawing  # what was classified: its stroke-3 sequence, and where it came from
    top_k: list[tuple[str, float]]  # (label, probability), most likely first
    by_stroke: list[tuple[int, str, float]] = field(default_factory=list)  # (strokes, top-1, p)

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
        return f"<Prediction {guesses}>"

    def as_json(self) -> dict:
        result = {
            "source": self.drawing.source,
            "line": self.drawing.line,
            "key_id": self.drawing.key_id,
            "predictions": [{"label": label, "probability": round(p, 6)} for label, p in self.top_k],
        }
        if self.by_stroke:
            result["by_stroke"] = [
                {"strokes": n, "label": label, "probability": round(p, 6)} for n, label, p in self.by_stroke
            ]
        return result

    def first_right_stroke(self) -> int | None:
        """The stroke after which the top guess first matched the drawing's word."""
        return next((n for n, label, _ in self.by_stroke if label == self.drawing.word), None)


def read_inputs(paths: list[str], max_length: int) -> Iterator[Drawing | Skipped]:
    """Drawings from ndjson or Kaggle CSV files ('-' is standard input, ndjson); an unreadable
    file is one Skipped."""
    for path in paths:
        if path == "-":
            yield from read_lines(lines_of(sys.stdin.buffer), "<stdin>", max_length)
            continue
        try:
            handle = Path(path).open("rb")
        except OSError as error:
            yield Skipped(path, 0, f"cannot read ({error.strerror or error})")
            continue
        with handle:
            yield from read_file(handle, path, max_length)


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
) -> Iterator[Prediction | Skipped]:
    """Predictions and skips in input order, ``chunk`` drawings at a time (inputs may be any
    size; a chunk of 1 answers each drawing of a live input at once)."""
    pending: list[Drawing | Skipped] = []
    for record in records:
        pending.append(record)
        if len(pending) == chunk:
            yield from _classify_chunk(predictor, labels, pending, k, progressive)
            pending = []
    yield from _classify_chunk(predictor, labels, pending, k, progressive)


def _classify_chunk(predictor, labels, records, k, progressive) -> Iterator[Prediction | Skipped]:
    drawings = [r for r in records if isinstance(r, Drawing)]
    predictions = iter(predict(predictor, labels, drawings, k, progressive))
    for record in records:
        yield next(predictions) if isinstance(record, Drawing) else record


def predict(
    predictor: Predictor, labels: tuple[str, ...], drawings: list[Drawing], k: int, progressive: bool = False
) -> list[Prediction]:
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
        results.append(Prediction(drawing, [(labels[i], float(row[i])) for i in best], by_stroke))
    return results


def _by_stroke(predictor: Predictor, labels: tuple[str, ...], sequence: np.ndarray) -> list[tuple[int, str, float]]:
    """The top guess after each stroke, as in the game."""
    prefixes = [(n, p) for n in range(1, stroke_count(sequence) + 1) if (p := first_strokes(sequence, n)) is not None]
    if not prefixes:
        return []
    probabilities = predictor.predict([p for _, p in prefixes])
    return [(n, labels[int(np.argmax(row))], float(np.max(row))) for (n, _), row in zip(prefixes, probabilities)]

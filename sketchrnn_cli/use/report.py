"""`sketch evaluate --report`: one self-contained HTML file of inline SVG, no script, no network.

Pure Python and NumPy. It stays small with 345 categories: the 119,025-cell confusion matrix
is one SVG path per colour step, and only the 50 most confidently wrong drawings are drawn.
"""

from __future__ import annotations

import datetime
import html
import math
from dataclasses import dataclass

import numpy as np

from ..data.strokes import drawing_svg
from ..metrics import shown_probability

COLOUR_STEPS = ("#eef3fd", "#d3e1fa", "#b0c9f5", "#87acef", "#5f8ee6", "#3d70d6", "#2556b8", "#173f8f", "#0d2a66")
WRONG_SHOWN = 50


@dataclass(frozen=True)
class ReportData:
    run: str
    report: dict  # metrics.report(...) and evaluate's fields (source, backend, ...)
    names: tuple[str, ...]
    labels: np.ndarray  # [n] true class indices
    probabilities: np.ndarray  # [n, classes]
    sequences: list  # [n] stroke-3 arrays, for the drawings shown
    history: list  # history.json: one dict per epoch
    about: str = ""  # the model: architecture, size, parameters, training time


def render(data: ReportData) -> str:
    e = html.escape
    sections = [
        '<div class="pair">',
        _section("Scores", _metrics_table(data.report)),
        _section(
            "Reliability: confidence against accuracy (10 bins of the top probability)",
            _reliability_diagram(data.report.get("reliability") or []),
        ),
        "</div>",
        '<div class="pair">',
        _section("Accuracy per category (worst first)", _per_category_bars(data.report["per_class"])),
        _section(
            "Confusion matrix (rows: true category, columns: predicted; share of each row)",
            _confusion_heatmap(data.labels, data.probabilities, data.names),
        ),
        "</div>",
        _section("Training", _training_curves(data.history)),
        _section(f"The {WRONG_SHOWN} most confidently wrong drawings", _wrong_drawings(data)),
    ]
    created = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sketch report: {e(data.run)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; color: #1d2433; margin: 24px auto; max-width: 1500px; padding: 0 16px; }}
.pair {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 0 32px; align-items: start; }}
td.what {{ color: #6b7385; font-size: 13px; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 32px; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px 12px; border-bottom: 1px solid #e3e6ee; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.muted {{ color: #6b7385; }} .scroll {{ overflow: auto; max-height: 1100px; }}
.drawings {{ display: flex; flex-wrap: wrap; gap: 10px; }}
figure {{ margin: 0; width: 128px; font-size: 12px; }} figure svg {{ background: #fff; border: 1px solid #e3e6ee; }}
svg text {{ font-family: system-ui, sans-serif; }}
</style></head><body>
<h1>{e(data.run)}</h1>
<p>{e(data.about)}</p>
<p class="muted">scored on {e(str(data.report.get("source", "")))} with {e(str(data.report.get("backend", "")))};
{data.report["count"]:,} drawings, {len(data.names)} categories; made {created}</p>
{"".join(sections)}
</body></html>
"""


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>\n"


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _metrics_table(report: dict) -> str:
    """Each score with a sentence saying what it means."""
    decimal = lambda key: "n/a" if report.get(key) is None else f"{report[key]:.4f}"  # noqa: E731
    rows = [
        ("top-1 accuracy", _percent(report["top1"]), "the first guess is right"),
        ("top-3 accuracy", _percent(report["top3"]), "the right answer is among the first three guesses"),
        ("MAP@3", decimal("map3"), "1 for a right first guess, 1/2 second, 1/3 third, else 0; averaged (Kaggle's)"),
        (
            "calibration error (ECE, 10 bins)",
            decimal("ece"),
            "how far the guesses' probabilities are from how often they are right; 0: they mean what they say",
        ),
        (
            "negative log-likelihood",
            decimal("nll"),
            "the mean of -log(the probability given to the right answer); lower is better, 0 at best",
        ),
        ("baseline: chance", _percent(report["baseline_chance"]), "a guess at random"),
        (
            "baseline: always the most common category",
            _percent(report["baseline_majority"]),
            "the best a model could do that never looked",
        ),
    ]
    cells = "".join(
        f"<tr><td>{html.escape(k)}</td><td class=n>{v}</td><td class=what>{html.escape(w)}</td></tr>"
        for k, v, w in rows
    )
    return f'<table class="metrics">{cells}</table>'


def _reliability_diagram(bins: list[dict]) -> str:
    """One bar per bin of the top probability: its drawings' accuracy, at its confidence; the
    dashed diagonal is perfect calibration (honest probabilities put the bars on it); the
    drawings in each bin are written above its bar; a darker bar is further from the diagonal."""
    if not any(b["count"] for b in bins):
        return "<p class='muted'>nothing scored</p>"
    side, pad = 440, 56
    scale = side - 2 * pad
    parts = [
        f'<line x1="{pad}" y1="{side - pad}" x2="{side - pad}" y2="{pad}" stroke="#999" stroke-dasharray="4 3"/>',
        f'<line x1="{pad}" y1="{side - pad}" x2="{side - pad}" y2="{side - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{side - pad}" stroke="#999"/>',
    ]
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):  # the axes in probabilities, both ways
        x, y = pad + tick * scale, side - pad - tick * scale
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{side - pad + 16}" font-size="11" text-anchor="middle">{tick:g}</text>'
        )
        parts.append(
            f'<text class="tick" x="{pad - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>'
        )
    width = scale / len(bins)
    for index, b in enumerate(bins):
        x = pad + index * width
        if not b["count"]:
            continue
        height = b["accuracy"] * scale
        gap = abs(b["accuracy"] - b["confidence"])
        title = (
            f"confidence {b['low']:.0%}-{b['high']:.0%}: {b['count']} drawing(s), mean confidence "
            f"{b['confidence']:.1%}, right {b['accuracy']:.1%}"
        )
        parts.append(
            f'<rect class="bin" x="{x + 1:.1f}" y="{side - pad - height:.1f}" width="{width - 2:.1f}" '
            f'height="{height:.1f}" fill="#3d70d6" opacity="{0.45 + min(gap * 2, 0.5):.2f}">'
            f"<title>{html.escape(title)}</title></rect>"
            f'<text x="{x + width / 2:.1f}" y="{side - pad - height - 4:.1f}" font-size="10" '
            f'text-anchor="middle" fill="#6b7385">{b["count"]}</text>'
        )
    parts.append(
        f'<text x="{side / 2}" y="{side - 14}" font-size="12" text-anchor="middle">confidence (the top guess\'s probability)</text>'
        f'<text transform="translate(16,{side / 2}) rotate(-90)" font-size="12" text-anchor="middle">'
        "accuracy (share right)</text>"
    )
    legend = (
        "<p class='muted'>Bars: the drawings whose top probability falls in each tenth, how often they were "
        "right (the number above a bar: how many drawings); the darker, the further from the dashed diagonal, "
        "where a guess at 80% is right 80% of the time. Point at a bar for its figures.</p>"
    )
    return (
        f'<svg class="chart reliability" width="{side}" height="{side}" role="img" aria-label="reliability diagram">'
        f"{''.join(parts)}</svg>{legend}"
    )


def _per_category_bars(per_class: dict) -> str:
    items = sorted(per_class.items(), key=lambda item: (item[1]["accuracy"], item[0]))
    if not items:
        return "<p>nothing scored</p>"
    row, label_width, bar_width = 16, 160, 220
    lines = []
    for i, (name, value) in enumerate(items):
        y = i * row
        width = value["accuracy"] * bar_width
        lines.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end" font-size="12">{html.escape(name)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 2}" width="{width:.1f}" height="{row - 4}" fill="#3d70d6">'
            f"<title>{html.escape(name)}: {value['accuracy']:.1%} of {value['count']}</title></rect>"
            f'<text x="{label_width + width + 4:.1f}" y="{y + 12}" font-size="11" fill="#6b7385">'
            f"{value['accuracy']:.0%} ({value['count']})</text>"
        )
    height = len(items) * row
    return (
        f'<div class="scroll"><svg class="per-category" width="{label_width + bar_width + 90}" height="{height}" '
        f'role="img" aria-label="accuracy per category">{"".join(lines)}</svg></div>'
    )


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


CELLS_NAMED = 40_000  # cells of the confusion matrix with their own hover text and number, at most


def _confusion_cells(counts: np.ndarray, shares: np.ndarray, names: tuple[str, ...], margin, cell, font) -> str:
    """A hover text for every cell that holds drawings ("5 cat drawings called dragon (10%)"),
    and its count written in it where the cells are big enough to read."""
    rows, columns = np.nonzero(counts)
    if len(rows) > CELLS_NAMED:
        return ""
    parts = []
    for r, c in zip(rows.tolist(), columns.tolist()):
        n, share = int(counts[r, c]), float(shares[r, c])
        what = f"{n} {names[r]} called {names[c]}" if r != c else f"{n} {names[r]} right"
        x, y = margin + c * cell, margin + r * cell
        number = (
            f'<text x="{x + cell / 2}" y="{y + cell / 2 + font / 3:.1f}" font-size="{font}" text-anchor="middle" '
            f'fill="{"#fff" if share > 0.5 else "#1d2433"}">{n}</text>'
            if cell >= 16
            else ""
        )
        parts.append(
            f'<g class="cell"><title>{html.escape(what)} ({share:.0%} of {html.escape(names[r])})</title>'
            f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="transparent"/>{number}</g>'
        )
    return "".join(parts)


def _confusion_heatmap(labels: np.ndarray, probabilities: np.ndarray, names: tuple[str, ...]) -> str:
    n = len(names)
    if len(labels) == 0:
        return "<p>nothing scored</p>"
    counts = confusion_matrix(labels, np.argmax(probabilities, axis=1), n)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    cell = max(4, min(28, 720 // n))
    font = max(4, min(12, cell - 2))
    margin = int(font * 0.62 * max(len(name) for name in names)) + 8
    steps = np.minimum((shares * len(COLOUR_STEPS)).astype(int), len(COLOUR_STEPS) - 1)
    paths = []
    for step, colour in enumerate(COLOUR_STEPS):  # one path per colour: small at 345 x 345
        rows, columns = np.nonzero((steps == step) & (counts > 0))
        if len(rows):
            d = "".join(
                f"M{margin + c * cell} {margin + r * cell}h{cell}v{cell}h-{cell}z" for r, c in zip(rows, columns)
            )
            paths.append(f'<path class="cells" fill="{colour}" d="{d}"/>')
    paths.append(_confusion_cells(counts, shares, names, margin, cell, font))
    labels_svg = []
    for i, name in enumerate(names):
        middle = margin + i * cell + cell / 2 + font / 3  # the text's baseline, centred on the cell
        labels_svg.append(
            f'<text x="{margin - 4}" y="{middle:.1f}" text-anchor="end" font-size="{font}">{html.escape(name)}</text>'
            f'<text transform="translate({middle:.1f},{margin - 4}) rotate(-90)" '
            f'font-size="{font}">{html.escape(name)}</text>'
        )
    side = margin + n * cell + 2
    grid = f'<rect x="{margin}" y="{margin}" width="{n * cell}" height="{n * cell}" fill="none" stroke="#c9cede"/>'
    legend = " ".join(
        f'<span style="background:{c};padding:0 10px" title="{i / len(COLOUR_STEPS):.0%}+"></span>'
        for i, c in enumerate(COLOUR_STEPS)
    )
    return (
        f'<div class="scroll"><svg class="confusion" width="{side}" height="{side}" role="img" '
        f'aria-label="confusion matrix">{grid}{"".join(paths)}{"".join(labels_svg)}</svg></div>'
        f'<p class="muted">0% {legend} 100% of the row\'s drawings</p>'
    )


def chartable(history: list) -> list[dict]:
    """The epochs of a history.json that can be drawn: a whole-number epoch, and only the
    finite numbers among its values (a hand-edited file's strings, NaN and 400-digit numbers go)."""
    rows = []
    for index, row in enumerate(history):
        epoch = row.get("epoch", index + 1)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or abs(epoch) > 10**9:
            continue
        values: dict[str, float] = {"epoch": epoch}
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "epoch":
                try:
                    number = float(value)
                except OverflowError:
                    continue
                if math.isfinite(number):
                    values[key] = number
        rows.append(values)
    return rows


def _training_curves(history: list) -> str:
    history = chartable(history)
    if not history:
        return "<p class='muted'>no history.json in the run</p>"
    epochs = [h["epoch"] for h in history]
    charts = [
        ("loss", [("train loss", "loss", "#3d70d6")]),
        ("accuracy", [("train", "accuracy", "#3d70d6"), ("valid", "val_accuracy", "#d6683d")]),
        ("learning rate", [("learning rate", "learning_rate", "#4a9a5b")]),
    ]
    return (
        '<div class="drawings">'
        + "".join(_line_chart(title, epochs, history, series) for title, series in charts)
        + "</div>"
    )


def _line_chart(title: str, epochs: list, history: list, series: list) -> str:
    width, height, pad = 330, 200, 36
    values = [h.get(key) for _, key, _ in series for h in history]
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not values:
        return ""
    low, high = min(values), max(values)
    high = high if high > low else low + 1
    first, last = min(epochs), max(epochs)
    span = max(last - first, 1)

    def point(epoch, value):
        return (
            f"{pad + (epoch - first) / span * (width - 2 * pad):.1f},"
            f"{height - pad - (value - low) / (high - low) * (height - 2 * pad):.1f}"
        )

    lines, keys = [], []
    for index, (name, key, colour) in enumerate(series):
        points = [point(e, h[key]) for e, h in zip(epochs, history) if key in h]
        lines.append(
            f'<polyline class="curve" fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
        )
        keys.append(
            f'<text x="{pad + 4 + index * 80}" y="14" font-size="11" fill="{colour}">{html.escape(name)}</text>'
        )
    axes = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="{pad}" y="{height - pad + 14}" font-size="10">{first}</text>'
        f'<text x="{width - pad}" y="{height - pad + 14}" font-size="10" text-anchor="end">epoch {last}</text>'
        f'<text x="{pad - 4}" y="{pad + 4}" font-size="10" text-anchor="end">{_short(high)}</text>'
        f'<text x="{pad - 4}" y="{height - pad}" font-size="10" text-anchor="end">{_short(low)}</text>'
    )
    return (
        f'<figure style="width:{width}px"><svg class="chart" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">{axes}{"".join(lines)}{"".join(keys)}</svg>'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
    )


def _short(value: float) -> str:
    return f"{value:.2g}" if abs(value) < 0.01 else f"{value:.2f}"


def most_confidently_wrong(labels: np.ndarray, probabilities: np.ndarray, limit: int = WRONG_SHOWN) -> np.ndarray:
    """Indices of wrong predictions, the most confident first (ties: input order)."""
    predicted = np.argmax(probabilities, axis=1) if len(labels) else np.zeros(0, dtype=np.int64)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:limit]


def _wrong_drawings(data: ReportData) -> str:
    chosen = most_confidently_wrong(data.labels, data.probabilities)
    if not len(chosen):
        return "<p>no drawing was wrong</p>"
    figures = []
    for index in chosen:
        predicted = int(np.argmax(data.probabilities[index]))
        truth, guess = html.escape(data.names[data.labels[index]]), html.escape(data.names[predicted])
        figures.append(
            f'<figure class="wrong">{drawing_svg(data.sequences[index])}<figcaption>'
            f"<b>{guess}</b> {shown_probability(float(data.probabilities[index, predicted]))}<br>"
            f'<span class="muted">true: {truth}</span></figcaption></figure>'
        )
    return f'<div class="drawings">{"".join(figures)}</div>'

"""The HTML report of `sketch evaluate --report`: what it shows, and that it stays small."""

import numpy as np

from sketchrnn_cli.data.categories import all_categories
from sketchrnn_cli.metrics import report as metrics_report
from sketchrnn_cli.use.report import (
    COLOUR_STEPS,
    WRONG_SHOWN,
    ReportData,
    confusion_matrix,
    drawing_svg,
    most_confidently_wrong,
    render,
)


def scored(classes: int, per_class: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    logits = rng.normal(size=(len(labels), classes)).astype(np.float32)
    logits[np.arange(len(labels)), labels] += 2.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    sequences = [
        np.column_stack([rng.normal(0, 0.05, (60, 2)), (np.arange(60) % 20 == 19)]).astype(np.float32) for _ in labels
    ]
    return labels, probabilities, sequences


def test_most_confidently_wrong_are_the_wrong_ones_by_confidence():
    labels = np.array([0, 1, 1, 0])
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.95, 0.05], [0.2, 0.8]])
    assert most_confidently_wrong(labels, probabilities).tolist() == [2, 3, 1]


def test_confusion_matrix_counts_true_by_predicted():
    assert confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), 2).tolist() == [[1, 1], [0, 1]]


def test_a_345_category_report_stays_under_3_mb_with_one_path_per_colour():
    names = all_categories()
    labels, probabilities, sequences = scored(len(names), 20)
    history = [
        {"epoch": e, "loss": 2 / e, "accuracy": 1 - 1 / e, "val_accuracy": 1 - 1.2 / e, "learning_rate": 3e-3 / e}
        for e in range(1, 101)
    ]
    data = ReportData(
        "big",
        {**metrics_report(probabilities, labels, list(names)), "source": "test", "backend": "x"},
        names,
        labels,
        probabilities,
        sequences,
        history,
    )
    page = render(data)
    assert len(page.encode()) < 3_000_000
    assert page.count('<path class="cells"') <= len(COLOUR_STEPS)
    assert page.count('class="wrong"') == WRONG_SHOWN
    assert page.count('<rect class="bar"') == len(names)
    assert page.count('class="curve"') == 4
    assert "The Eiffel Tower" in page and "<script" not in page and "http" not in page.replace("http-equiv", "")


def test_names_are_escaped():
    names = ("<b>cat</b>", "dog & co")
    labels, probabilities, sequences = scored(2, 3)
    page = render(
        ReportData(
            "r<1>",
            {**metrics_report(probabilities, labels, list(names)), "source": "s", "backend": "b"},
            names,
            labels,
            probabilities,
            sequences,
            [],
        )
    )
    assert "<b>cat</b>" not in page and "&lt;b&gt;cat&lt;/b&gt;" in page and "dog &amp; co" in page


def test_drawing_svg_has_one_polyline_per_stroke():
    sequence = np.array([[0, 0, 0], [0.5, 0.5, 1], [0.2, 0, 0], [0.1, 0.3, 1]], dtype=np.float32)
    assert drawing_svg(sequence).count("<polyline") == 2


def test_a_hand_edited_history_draws_only_what_can_be_drawn():
    """Red team 2, #18: a string epoch or a 400-digit loss in history.json: TypeError / OverflowError in
    --report; NaN and infinite losses reached the SVG as `nan` points."""
    from sketchrnn_cli.use.report import _training_curves, chartable

    history = [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.5},
        {"epoch": "two", "loss": 0.5},
        {"epoch": 3, "loss": 10**400, "accuracy": float("nan")},
        {"epoch": 4, "loss": float("inf"), "accuracy": 0.9},
        {"epoch": True, "loss": 0.1},
    ]
    assert chartable(history) == [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.5},
        {"epoch": 3},
        {"epoch": 4, "accuracy": 0.9},
    ]
    svg = _training_curves(history)
    assert "nan" not in svg.lower() and "inf" not in svg.lower() and "<polyline" in svg


def test_a_report_that_cannot_be_written_names_the_target(trained_run, shapes_data):
    """Red team 2, cosmetic: --report /proc/version named our temporary file, not the target."""
    from conftest import one_error_line, sketch

    done = sketch("evaluate", trained_run, "--data-dir", shapes_data, "--report", "/proc/version")
    assert ".sketch-tmp" not in one_error_line(done, "/proc/version")


def test_the_report_draws_a_reliability_diagram_with_counts():
    """Issue 21: confidence against accuracy per bin, with the drawings in each."""
    labels, probabilities, sequences = scored(4, 30)
    report = metrics_report(probabilities, labels, ["a", "b", "c", "d"])
    page = render(ReportData("run", report, ("a", "b", "c", "d"), labels, probabilities, sequences, []))
    assert 'aria-label="reliability diagram"' in page and "calibration error (ECE" in page
    shown = sum(bin_["count"] for bin_ in report["reliability"])
    assert shown == len(labels) and f"{report['reliability'][-1]['count']}</text>" in page

import numpy as np
import pytest

from sketchrnn_cli.metrics import baselines, map_at_3, most_confused, per_class_accuracy, report, top_k_accuracy

# Four drawings, four classes; rows are probabilities.
PROBABILITIES = np.array([
    [0.70, 0.20, 0.05, 0.05],  # true 0: 1st guess
    [0.50, 0.30, 0.15, 0.05],  # true 1: 2nd guess
    [0.40, 0.30, 0.20, 0.10],  # true 2: 3rd guess
    [0.40, 0.30, 0.20, 0.10],  # true 3: 4th guess (a miss)
])
LABELS = np.array([0, 1, 2, 3])


def test_top_k_accuracy_by_hand():
    assert top_k_accuracy(PROBABILITIES, LABELS, 1) == 0.25
    assert top_k_accuracy(PROBABILITIES, LABELS, 3) == 0.75


def test_map_at_3_by_hand():
    # (1 + 1/2 + 1/3 + 0) / 4
    assert map_at_3(PROBABILITIES, LABELS) == pytest.approx((1 + 0.5 + 1 / 3) / 4)


def test_per_class_confusions_and_baselines():
    predicted = np.array([0, 0, 0, 1, 1])
    labels = np.array([0, 1, 1, 1, 2])
    names = ["cat", "dog", "eye"]
    assert per_class_accuracy(predicted, labels, names) == {
        "cat": {"accuracy": 1.0, "count": 1}, "dog": {"accuracy": pytest.approx(1 / 3), "count": 3},
        "eye": {"accuracy": 0.0, "count": 1}}
    assert most_confused(predicted, labels, names) == [
        {"true": "dog", "predicted": "cat", "count": 2}, {"true": "eye", "predicted": "dog", "count": 1}]
    assert baselines(labels, 3) == {"baseline_chance": pytest.approx(1 / 3), "baseline_majority": 0.6}


def test_report_uses_the_contract_names():
    result = report(PROBABILITIES, LABELS, ["a", "b", "c", "d"])
    assert {"top1", "top3", "map3", "count", "per_class", "confused", "baseline_majority",
            "baseline_chance"} <= set(result)
    assert result["count"] == 4

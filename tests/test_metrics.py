import numpy as np
import pytest

from sketchrnn_cli.metrics import baselines, map_at_3, most_confused, per_class_accuracy, report, top_k_accuracy

# Four drawings, four classes; rows are probabilities.
PROBABILITIES = np.array(
    [
        [0.70, 0.20, 0.05, 0.05],  # true 0: 1st guess
        [0.50, 0.30, 0.15, 0.05],  # true 1: 2nd guess
        [0.40, 0.30, 0.20, 0.10],  # true 2: 3rd guess
        [0.40, 0.30, 0.20, 0.10],  # true 3: 4th guess (a miss)
    ]
)
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
        "cat": {"accuracy": 1.0, "count": 1},
        "dog": {"accuracy": pytest.approx(1 / 3), "count": 3},
        "eye": {"accuracy": 0.0, "count": 1},
    }
    assert most_confused(predicted, labels, names) == [
        {"true": "dog", "predicted": "cat", "count": 2},
        {"true": "eye", "predicted": "dog", "count": 1},
    ]
    assert baselines(labels, 3) == {"baseline_chance": pytest.approx(1 / 3), "baseline_majority": 0.6}


def test_report_uses_the_contract_names():
    result = report(PROBABILITIES, LABELS, ["a", "b", "c", "d"])
    assert {"top1", "top3", "map3", "count", "per_class", "confused", "baseline_majority", "baseline_chance"} <= set(
        result
    )
    assert result["count"] == 4


def reference_apk(actual: int, predicted: list[int], k: int = 3) -> float:
    """Kaggle's ml_metrics.apk for one true label, written out from its definition."""
    score, hits = 0.0, 0
    for rank, guess in enumerate(predicted[:k], start=1):
        if guess == actual and guess not in predicted[: rank - 1]:
            hits += 1
            score += hits / rank
    return score / min(1, k)


@pytest.mark.parametrize("classes", [1, 2, 3, 4, 5])
def test_map_at_3_matches_the_reference_for_one_to_five_categories_ties_included(classes):
    rng = np.random.default_rng(classes)
    probabilities = rng.integers(0, 3, size=(200, classes)).astype(float)  # many ties
    labels = rng.integers(0, classes, size=200)
    order = [sorted(range(classes), key=lambda c: (-row[c], c)) for row in probabilities]  # ties: lower index
    expected = np.mean([reference_apk(int(t), guesses) for t, guesses in zip(labels, order)])
    assert map_at_3(probabilities, labels) == pytest.approx(expected)
    assert 0.0 <= map_at_3(probabilities, labels) <= 1.0


def test_metrics_of_nothing_scored_are_null_in_json():
    import json

    result = report(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), ["a", "b", "c"])
    text = json.dumps(result)
    assert "NaN" not in text
    assert json.loads(text)["top1"] is None and json.loads(text)["map3"] is None

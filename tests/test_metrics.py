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
    # Ties rank the true class last among its equals (red team 3): never right by label order.
    order = [sorted(range(classes), key=lambda c: (-row[c], c == t)) for row, t in zip(probabilities, labels)]
    expected = np.mean([reference_apk(int(t), guesses) for t, guesses in zip(labels, order)])
    assert map_at_3(probabilities, labels) == pytest.approx(expected)
    assert 0.0 <= map_at_3(probabilities, labels) <= 1.0


def test_a_model_that_cannot_tell_scores_nothing_whatever_the_order_of_its_labels():
    """Red team 3, cosmetic: exact ties in top-1 broke to the lower index, so a uniform model
    scored 100% on class 0 (top-1, per class, and in the reliability bins)."""
    uniform = np.full((6, 3), 1 / 3)
    labels = np.array([0, 0, 1, 1, 2, 2])
    scores = report(uniform, labels, ["a", "b", "c"])
    assert scores["top1"] == 0.0 and scores["map3"] == pytest.approx(1 / 3) and scores["top3"] == 1.0
    assert scores["per_class"]["a"]["accuracy"] == 0.0 and scores["confused"] == []


def test_metrics_of_nothing_scored_are_null_in_json():
    import json

    result = report(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), ["a", "b", "c"])
    text = json.dumps(result)
    assert "NaN" not in text
    assert json.loads(text)["top1"] is None and json.loads(text)["map3"] is None


def overconfident(n=3000, classes=10, seed=0):
    """Probabilities three times as sure of themselves as their accuracy warrants."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), labels] += 2.0
    powered = np.exp(3 * logits)
    return powered / powered.sum(axis=1, keepdims=True), labels


def test_a_fitted_temperature_makes_overconfident_probabilities_honest():
    from sketchrnn_cli.metrics import calibrated, ece, fit_temperature, nll

    probabilities, labels = overconfident()
    temperature = fit_temperature(probabilities, labels)
    assert temperature > 1  # softens
    honest = calibrated(probabilities, temperature)
    assert ece(honest, labels) < 0.03 < ece(probabilities, labels)
    assert nll(honest, labels) < nll(probabilities, labels)
    assert np.allclose(honest.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(np.argmax(honest, axis=1), np.argmax(probabilities, axis=1))  # the guesses stay
    assert calibrated(probabilities, 1.0) is probabilities


def test_a_temperature_is_kept_at_1_on_too_few_drawings_or_at_a_bound_of_its_search():
    """Red team 3, #5: a temperature fitted on a 1-drawing valid split hit the floor of its
    search (T = 0.054), and a model at chance then claimed 100% on every drawing."""
    from sketchrnn_cli.metrics import MIN_CALIBRATION_DRAWINGS, chosen_temperature

    probabilities, labels = overconfident()
    fitted, note = chosen_temperature(probabilities, labels)
    assert fitted > 1 and note == ""
    one, note = chosen_temperature(probabilities[:1], labels[:1])
    assert one == 1.0 and f"the valid split has 1 drawing(s), under the {MIN_CALIBRATION_DRAWINGS}" in note
    right = np.eye(probabilities.shape[1])[labels] * 0.5 + 0.5 / probabilities.shape[1]  # never wrong: T -> 0
    kept, note = chosen_temperature(right, labels)
    assert kept == 1.0 and "the fit went to 0.05, a bound of its search, and is not reliable" in note


def test_the_reliability_bins_count_every_drawing_once_and_ece_is_their_weighted_gap():
    from sketchrnn_cli.metrics import ece, reliability

    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.15, 0.85]])
    labels = np.array([0, 1, 0, 1])
    bins = reliability(probabilities, labels)
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 4
    assert bins[9]["count"] == 2 and bins[9]["accuracy"] == 0.5 and bins[9]["confidence"] == pytest.approx(0.95)
    assert ece(probabilities, labels) == pytest.approx((2 * 0.45 + 0.45 + 0.15) / 4)


@pytest.mark.parametrize("p, shown", [(0.9994, "99.9%"), (0.99951, ">99.9%"), (1.0, ">99.9%"), (0.5, "50.0%")])
def test_a_guess_that_is_not_certain_never_reads_100_percent(p, shown):
    from sketchrnn_cli.metrics import shown_probability

    assert shown_probability(p) == shown


def test_the_report_has_the_calibration_keys():
    result = report(PROBABILITIES, LABELS, ["a", "b", "c", "d"])
    assert {"ece", "ece_interval", "nll", "reliability"} <= set(result)
    low, high = result["ece_interval"]
    assert 0 <= low <= high <= 1


def test_the_unsure_threshold_flags_the_chosen_share_of_the_valid_split_and_none_on_too_few():
    """Issue 29, #1: the run chooses its own threshold from its calibrated valid split."""
    from sketchrnn_cli.metrics import UNSURE_SHARE, unsure_threshold

    probabilities, _ = overconfident()
    threshold = unsure_threshold(probabilities)
    flagged = np.mean(probabilities.max(axis=1) < threshold)
    assert abs(flagged - UNSURE_SHARE) < 0.01
    assert unsure_threshold(probabilities[:10]) == 0.0  # under 15 drawings: never unsure

"""Classification metrics on predicted probabilities. Pure NumPy.

MAP@3 is the Kaggle Quick, Draw! metric: 1, 1/2 or 1/3 when the true class is the first,
second or third guess, else 0, averaged over drawings. A metric of nothing scored is None.

Calibration: the expected calibration error (ECE) over CALIBRATION_BINS equal-width bins of
the top probability (|accuracy - confidence| per bin, weighted by its drawings), and the
negative log-likelihood (NLL) of the true class. A temperature T calibrates a model whose
output is a mean of per-step softmaxes (not logits): p^(1/T), renormalised, fitted by NLL.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def shown_probability(p: float) -> str:
    """A probability as people read it: one decimal, and never "100.0%" for a guess that is
    not certain (from 99.95% on, ">99.9%"); --json keeps every digit."""
    return ">99.9%" if p >= 0.9995 else f"{p:.1%}"


def top_k(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most likely classes per row, most likely first (ties: lower index)."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    return order[:, :k]


def rank_of_label(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The true class's rank per row, 1 = first guess. Ties count against it: every class as
    likely as the true one ranks before it, so a model that cannot tell (a uniform answer) is
    never right by the order of the labels."""
    truth = probabilities[np.arange(len(labels)), labels][:, None]
    return np.sum(probabilities > truth, axis=1) + np.sum(probabilities == truth, axis=1)


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float | None:
    """None when nothing was scored (JSON null, never NaN)."""
    if len(labels) == 0:
        return None
    return float(np.mean(rank_of_label(probabilities, labels) <= k))


def map_at_3(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """1 / rank of the true class among at most 3 guesses (fewer with fewer classes), else 0."""
    if len(labels) == 0:
        return None
    rank = rank_of_label(probabilities, labels)
    return float(np.mean(np.where(rank <= 3, 1.0 / rank, 0.0)))


def decided(probabilities: np.ndarray) -> np.ndarray:
    """The top guess per row, or -1 where several classes share the top probability (no guess)."""
    if len(probabilities) == 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argmax(probabilities, axis=1)
    tied = np.sum(probabilities == probabilities.max(axis=1, keepdims=True), axis=1) > 1
    return np.where(tied, -1, best)


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, dict]:
    """{name: {"accuracy", "count"}} for every class that occurs in ``labels``."""
    result = {}
    for index, name in enumerate(names):
        mine = labels == index
        if mine.any():
            result[name] = {"accuracy": float(np.mean(predicted[mine] == index)), "count": int(mine.sum())}
    return result


def most_confused(predicted: np.ndarray, labels: np.ndarray, names: list[str], limit: int = 10) -> list[dict]:
    """The most frequent (true, predicted) mistakes, most frequent first."""
    mistakes = Counter((int(t), int(p)) for t, p in zip(labels, predicted) if t != p and p >= 0)
    ranked = sorted(mistakes.items(), key=lambda item: (-item[1], item[0]))
    return [{"true": names[t], "predicted": names[p], "count": n} for (t, p), n in ranked[:limit]]


def baselines(labels: np.ndarray, num_classes: int) -> dict[str, float | None]:
    """Chance (a uniform guess) and the best constant guess: always the most common class
    of the drawings scored."""
    majority = float(np.bincount(labels, minlength=num_classes).max() / len(labels)) if len(labels) else None
    return {"baseline_chance": 1.0 / num_classes, "baseline_majority": majority}


CALIBRATION_BINS = 10
TINY = 1e-12  # a probability is never taken below this in a logarithm


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """p^(1/T), renormalised per row (T > 1 softens, T < 1 sharpens; T = 1 changes nothing)."""
    if temperature == 1.0:
        return probabilities
    logs = np.log(np.maximum(probabilities.astype(np.float64), TINY)) / temperature
    powered = np.exp(logs - logs.max(axis=1, keepdims=True))
    return (powered / powered.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean -log p(true class)."""
    if len(labels) == 0:
        return None
    chosen = probabilities[np.arange(len(labels)), labels].astype(np.float64)
    return float(-np.mean(np.log(np.maximum(chosen, TINY))))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Per equal-width bin of the top probability: its drawings, mean confidence and accuracy."""
    confidence = probabilities.max(axis=1) if len(labels) else np.zeros(0)
    right = decided(probabilities) == labels if len(labels) else np.zeros(0, bool)
    index = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        rows.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": count,
                "confidence": float(confidence[chosen].mean()) if count else None,
                "accuracy": float(right[chosen].mean()) if count else None,
            }
        )
    return rows


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS) -> float | None:
    """Expected calibration error: sum over bins of (drawings / all) * |accuracy - confidence|."""
    if len(labels) == 0:
        return None
    return float(
        sum(
            row["count"] / len(labels) * abs(row["accuracy"] - row["confidence"])
            for row in reliability(probabilities, labels, bins)
            if row["count"]
        )
    )


def ece_interval(probabilities: np.ndarray, labels: np.ndarray, draws: int = 200, seed: int = 0) -> list[float] | None:
    """A 95% bootstrap interval of the ECE (drawings resampled with replacement)."""
    if len(labels) == 0:
        return None
    rng = np.random.default_rng(seed)
    resamples = rng.integers(0, len(labels), (draws, len(labels)))
    values = np.array([ece(probabilities[rows], labels[rows]) or 0.0 for rows in resamples])
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


# A temperature is fitted on at least this many valid drawings. bench/bench_temperature.py fits T
# on samples of a calibrated model (true T = 1): from 15 drawings on, 90% of the fits fall within
# 0.63-1.39 and none at a bound; on 5, 7% end at the floor of the search (T = 0.05, which claims
# certainty on every drawing), on 1, 36% (red team 3, #5: a 1-drawing valid split gave T = 0.054).
MIN_CALIBRATION_DRAWINGS = 15
TEMPERATURE_BOUNDS = (0.05, 20.0)  # the search's; a fit at either is no measurement


def chosen_temperature(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, str]:
    """(T, note): the fitted temperature, or 1 with a note saying why none was trusted (too few
    drawings, or a fit at a bound of its search: a sample without a single mistake, say)."""
    if len(labels) < MIN_CALIBRATION_DRAWINGS:
        return 1.0, (
            f"kept at 1: the valid split has {len(labels)} drawing(s), "
            f"under the {MIN_CALIBRATION_DRAWINGS} a temperature is fitted on"
        )
    fitted = fit_temperature(probabilities, labels)
    loss = nll(calibrated(probabilities, fitted), labels) or 0.0
    for bound in TEMPERATURE_BOUNDS:  # no lower loss inside the search than at its end: no minimum found
        if (nll(calibrated(probabilities, bound), labels) or 0.0) <= loss + 1e-9:
            return 1.0, f"kept at 1: the fit went to {bound:g}, a bound of its search, and is not reliable"
    return fitted, ""


def fit_temperature(
    probabilities: np.ndarray,
    labels: np.ndarray,
    low: float = TEMPERATURE_BOUNDS[0],
    high: float = TEMPERATURE_BOUNDS[1],
) -> float:
    """The T that minimises the NLL of calibrated(probabilities, T): a golden-section search
    over log T (the NLL is smooth and, in practice, has one minimum there)."""
    if len(labels) == 0:
        return 1.0
    logs = np.log(np.maximum(probabilities.astype(np.float64), TINY))
    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        scaled = logs / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scaled).sum(axis=1)) - scaled[rows, labels]))

    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(60):
        if loss(c) < loss(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return float(np.exp((a + b) / 2))


# The share of the valid split's drawings whose top guess is shown as unsure. The threshold is
# the top probability of the drawing at that quantile of the calibrated valid split: the run
# chooses it from drawings of its own categories, so about this share of them is flagged, and
# a drawing of a category it does not know, whose top guess is rarely as sure, is flagged far
# more often (bench/bench_unsure.py measures both). 8% is the share a plain 0.6 flagged on the
# default model's test split, under the 1 in 10 the product allows.
UNSURE_SHARE = 0.08


def unsure_threshold(probabilities: np.ndarray, share: float = UNSURE_SHARE) -> float:
    """The top probability below which a guess is shown as unsure, from a model's calibrated
    probabilities on its valid split; 0 (never unsure) under MIN_CALIBRATION_DRAWINGS drawings."""
    if len(probabilities) < MIN_CALIBRATION_DRAWINGS:
        return 0.0
    return round(float(np.quantile(probabilities.max(axis=1), share)), 4)


def report(probabilities: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Every metric of `sketch evaluate --json`, under its contract names."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = decided(probabilities) if len(labels) else np.zeros(0, dtype=np.int64)
    return {
        "count": int(len(labels)),
        "top1": top_k_accuracy(probabilities, labels, 1),
        "top3": top_k_accuracy(probabilities, labels, 3),
        "map3": map_at_3(probabilities, labels),
        "per_class": per_class_accuracy(predicted, labels, names),
        "confused": most_confused(predicted, labels, names),
        **baselines(labels, len(names)),
        "ece": ece(probabilities, labels),
        "ece_interval": ece_interval(probabilities, labels),
        "nll": nll(probabilities, labels),
        "reliability": reliability(probabilities, labels),
    }

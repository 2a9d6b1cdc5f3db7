"""Classification metrics on predicted probabilities. Pure NumPy.

MAP@3 is the Kaggle Quick, Draw! metric: 1, 1/2 or 1/3 when the true class is the first,
second or third guess, else 0, averaged over drawings. A metric of nothing scored is None.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def top_k(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most likely classes per row, most likely first (ties: lower index)."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    return order[:, :k]


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int) -> float | None:
    """None when nothing was scored (JSON null, never NaN)."""
    if len(labels) == 0:
        return None
    return float(np.mean(np.any(top_k(probabilities, k) == labels[:, None], axis=1)))


def map_at_3(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """1 / rank of the true class among at most 3 guesses (fewer with fewer classes), else 0."""
    if len(labels) == 0:
        return None
    guesses = top_k(probabilities, 3)  # [n, min(3, classes)]
    hits = guesses == labels[:, None]
    return float(np.mean(np.sum(hits / np.arange(1, guesses.shape[1] + 1), axis=1)))


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
    mistakes = Counter((int(t), int(p)) for t, p in zip(labels, predicted) if t != p)
    ranked = sorted(mistakes.items(), key=lambda item: (-item[1], item[0]))
    return [{"true": names[t], "predicted": names[p], "count": n} for (t, p), n in ranked[:limit]]


def baselines(labels: np.ndarray, num_classes: int) -> dict[str, float | None]:
    """Chance (a uniform guess) and the best constant guess: always the most common class
    of the drawings scored."""
    majority = float(np.bincount(labels, minlength=num_classes).max() / len(labels)) if len(labels) else None
    return {"baseline_chance": 1.0 / num_classes, "baseline_majority": majority}


def report(probabilities: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Every metric of `sketch evaluate --json`, under its contract names."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.argmax(probabilities, axis=1) if len(labels) else np.zeros(0, dtype=np.int64)
    return {
        "count": int(len(labels)),
        "top1": top_k_accuracy(probabilities, labels, 1),
        "top3": top_k_accuracy(probabilities, labels, 3),
        "map3": map_at_3(probabilities, labels),
        "per_class": per_class_accuracy(predicted, labels, names),
        "confused": most_confused(predicted, labels, names),
        **baselines(labels, len(names)),
    }

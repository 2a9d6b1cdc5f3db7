"""The training policy as pure functions: learning-rate schedule, stopping rule; and augmentation."""

import math

import numpy as np
import pytest

from sketchrnn_cli.config import TrainConfig
from sketchrnn_cli.strokes import parse_drawing
from sketchrnn_cli.train import MIN_LR_FRACTION, Progress, learning_rate_at, planned_steps, stop_reason


def test_the_learning_rate_decays_by_cosine_over_the_steps_from_its_peak_to_a_floor():
    train = TrainConfig(epochs=10, learning_rate=0.01)
    rates = [learning_rate_at(step, 100, train) for step in range(0, 101, 10)]
    assert rates[0] == pytest.approx(0.01)
    assert rates[5] == pytest.approx(0.01 * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5))
    assert rates[10] == pytest.approx(0.01 * MIN_LR_FRACTION)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert learning_rate_at(150, 100, train) == pytest.approx(0.01 * MIN_LR_FRACTION)


def test_a_time_budget_plans_the_steps_the_measured_speed_allows():
    budget = TrainConfig(epochs=100, max_minutes=1.0)
    assert planned_steps(40, 2.0, 30.0, budget, steps_per_epoch=10) == 40 + 60
    assert planned_steps(40, 100.0, 30.0, budget, steps_per_epoch=10) == 1000  # the epochs end first
    assert planned_steps(40, 2.0, 30.0, TrainConfig(epochs=5), steps_per_epoch=10) == 50


@pytest.mark.parametrize("progress, reason", [
    (Progress(epoch=3, best_epoch=3, seconds=10.0), ""),
    (Progress(epoch=10, best_epoch=10, seconds=10.0), "epochs done"),
    (Progress(epoch=7, best_epoch=2, seconds=10.0), "early stopping (no better valid accuracy in 5 epochs)"),
    (Progress(epoch=3, best_epoch=3, seconds=61.0), "time limit of 1 min"),
])
def test_the_stopping_rule(progress, reason):
    assert stop_reason(progress, TrainConfig(epochs=10, patience=5, max_minutes=1.0)) == reason


def augmented(sequence, seed):
    import tensorflow as tf

    from sketchrnn_cli.data import augment

    return augment(tf.constant(sequence), tf.constant(seed, tf.int64)).numpy()


def test_augmentation_is_seeded_and_keeps_a_valid_normalised_drawing():
    rng = np.random.default_rng(0)
    strokes = [[rng.integers(0, 255, 12).tolist(), rng.integers(0, 255, 12).tolist()] for _ in range(4)]
    sequence = parse_drawing(strokes)
    first, again, other = augmented(sequence, [1, 2]), augmented(sequence, [1, 2]), augmented(sequence, [3, 4])
    np.testing.assert_array_equal(first, again)
    assert not (len(first) == len(other) and np.allclose(first, other))
    for result in (first, other):
        assert np.isfinite(result).all() and 2 <= len(result) <= len(sequence)
        assert set(np.unique(result[:, 2])) <= {0.0, 1.0} and result[-1, 2] == 1.0
        points = np.cumsum(result[:, :2], axis=0)
        assert points.min() >= -1e-5 and math.isclose(points.max(), 1.0, abs_tol=1e-5)


def test_augmentation_keeps_at_least_one_stroke_of_a_tiny_drawing():
    sequence = parse_drawing([[[0, 10], [0, 10]]])
    for seed in range(20):
        assert len(augmented(sequence, [seed, 0])) == 2

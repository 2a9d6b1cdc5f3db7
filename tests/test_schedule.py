"""The training policy as pure functions: learning-rate schedule, steps under a budget, stopping rule."""

import pytest

from sketchrnn_cli.config import TrainConfig
from sketchrnn_cli.schedule import MIN_LR_FRACTION, TrainingState, learning_rate_at, planned_steps, stop_reason


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


@pytest.mark.parametrize(
    "progress, reason",
    [
        (TrainingState(epoch=3, best_epoch=3, seconds=10.0, position=30, best_position=30), ""),
        (TrainingState(epoch=10, best_epoch=10, seconds=10.0, position=100, best_position=100), "epochs done"),
        (
            TrainingState(epoch=7, best_epoch=2, seconds=10.0, position=70, best_position=20),
            "early stopping (no better valid accuracy in 5 epochs)",
        ),
        (TrainingState(epoch=7, best_epoch=3, seconds=10.0, position=70, best_position=25), ""),  # best mid-epoch 3
        (TrainingState(epoch=3, best_epoch=3, seconds=61.0, position=30, best_position=30), "time limit of 1 min"),
    ],
)
def test_the_stopping_rule(progress, reason):
    assert stop_reason(progress, TrainConfig(epochs=10, patience=5, max_minutes=1.0), steps_per_epoch=10) == reason

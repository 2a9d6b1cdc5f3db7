"""The training policy as pure functions: learning-rate schedule, steps under a budget, stopping rule."""

import pytest

from sketchrnn_cli.config import TrainConfig
from sketchrnn_cli.model.schedule import (
    MIN_LR_FRACTION,
    TrainingState,
    auto_batch_size,
    learning_rate_at,
    planned_steps,
    scaled_learning_rate,
    stop_reason,
)


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
        (TrainingState(epoch=20, best_epoch=20, seconds=10.0, position=200, best_position=200), "epochs done"),
        (
            TrainingState(epoch=16, best_epoch=2, seconds=10.0, position=160, best_position=20),
            "early stopping (no better valid accuracy in 5 epochs)",
        ),
        (TrainingState(epoch=16, best_epoch=11, seconds=10.0, position=160, best_position=115), ""),  # best mid-epoch
        (TrainingState(epoch=7, best_epoch=2, seconds=10.0, position=70, best_position=20), ""),  # first half
        (  # a budget's planned steps decide where the half is
            TrainingState(epoch=7, best_epoch=1, seconds=10.0, position=70, best_position=10, total_steps=40),
            "early stopping (no better valid accuracy in 5 epochs)",
        ),
        (TrainingState(epoch=3, best_epoch=3, seconds=61.0, position=30, best_position=30), "time limit of 1 min"),
    ],
)
def test_the_stopping_rule(progress, reason):
    assert stop_reason(progress, TrainConfig(epochs=20, patience=5, max_minutes=1.0), steps_per_epoch=10) == reason


@pytest.mark.parametrize(
    "drawings, accelerator, batch",
    [
        (5_000_000, False, 64),  # a CPU keeps today's batch, and its figures
        (5_000, True, 64),  # 5,000 drawings: 78 steps at 64 already; never 5 steps an epoch
        (12_800, True, 128),  # exactly 100 steps of 128
        (25_599, True, 128),  # one drawing short of 100 steps of 256
        (2_000_000, True, 1024),
    ],
)
def test_an_automatic_batch_fits_the_device_and_leaves_100_steps_per_epoch(drawings, accelerator, batch):
    chosen, why = auto_batch_size(drawings, accelerator)
    assert chosen == batch and why.startswith(f"batch {batch} (auto: ")
    if accelerator and batch > 64:
        assert drawings // chosen >= 100


def test_the_learning_rate_grows_with_the_square_root_of_the_batch():
    assert scaled_learning_rate(3e-3, 64) == pytest.approx(3e-3)
    assert scaled_learning_rate(3e-3, 1024) == pytest.approx(1.2e-2)

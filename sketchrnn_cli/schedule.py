"""The training policy as pure rules: the learning-rate schedule, the steps a time budget
allows, when to stop, and the state a checkpoint keeps. No TensorFlow, no Keras: the slim
install imports and tests it; train.py's Monitor applies it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from .artifacts import RunError, read_json
from .config import TrainConfig

MIN_LR_FRACTION = 0.02  # the cosine schedule ends at this fraction of the learning rate


@dataclass
class TrainingState:
    """What a checkpoint remembers between sessions: where the run is, its best, its history."""

    epoch: int = 0  # finished epochs
    best_val_accuracy: float = -1.0
    best_epoch: int = 0
    seconds: float = 0.0  # training time so far, over all sessions
    history: list = dataclasses.field(default_factory=list)
    stopped: str = ""
    position: int = 0  # batches trained on: where in the stream of batches a resumed run goes on
    total_steps: int = 0  # the schedule's length once fixed under a time budget (0: by epochs)
    best_position: int = 0  # the batches trained on at the best validation (patience counts from it)


def learning_rate_at(step: int, total_steps: int, train: TrainConfig) -> float:
    """Cosine decay over the run's steps, from ``train.learning_rate`` to MIN_LR_FRACTION of it."""
    cosine = 0.5 * (1 + math.cos(math.pi * min(step / max(total_steps, 1), 1.0)))
    return train.learning_rate * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * cosine)


def planned_steps(
    position: int, steps_per_second: float, seconds_left: float, train: TrainConfig, steps_per_epoch: int
) -> int:
    """The run's total steps: its epochs', or fewer when the time left at the measured speed
    (validation included) allows fewer."""
    by_epochs = train.epochs * steps_per_epoch
    if train.max_minutes is None:
        return by_epochs
    return min(by_epochs, position + int(steps_per_second * max(seconds_left, 0.0)))


def stop_reason(progress: TrainingState, train: TrainConfig, steps_per_epoch: int) -> str:
    """Why training stops after the epochs in ``progress``, or "" to go on. Patience counts
    steps: ``patience`` epochs' worth since the best validation (at an epoch end or a checkpoint)."""
    if train.max_minutes is not None and progress.seconds >= 60 * train.max_minutes:
        return f"time limit of {train.max_minutes:g} min"
    if progress.position - progress.best_position >= train.patience * steps_per_epoch:
        return f"early stopping (no better valid accuracy in {train.patience} epochs)"
    if progress.epoch >= train.epochs:
        return "epochs done"
    return ""


def read_state(path: Path) -> TrainingState:
    """A checkpoint's state; RunError naming the file when a field is missing or of another type."""
    saved = read_json(path)
    try:
        progress = TrainingState(**saved)
    except TypeError:
        raise RunError(f"{path}: not a checkpoint of this sketch version") from None
    defaults = TrainingState()
    for name, value in dataclasses.asdict(progress).items():
        wanted = type(getattr(defaults, name))
        if not isinstance(value, wanted) or isinstance(value, bool) or (wanted is int and isinstance(value, float)):
            if not (wanted is float and type(value) is int):
                raise RunError(
                    f"{path}: {name!r} is {type(value).__name__}, not {wanted.__name__}; "
                    f"delete {path.parent} to resume from the start"
                )
    return progress

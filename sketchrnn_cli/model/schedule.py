"""The training policy as pure rules: the learning-rate schedule, the steps a time budget
allows, when to stop, and the state a checkpoint keeps. No TensorFlow, no Keras: the slim
install imports and tests it; train.py's Monitor applies it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import RunError, read_json
from ..config import TrainConfig

MIN_LR_FRACTION = 0.02  # the cosine schedule ends at this fraction of the learning rate
CPU_BATCH = 64  # the batch on a CPU, and the one the default learning rate is tuned for
AUTO_BATCHES = (64, 128, 256, 512, 1024)  # what --batch-size auto chooses from on an accelerator
MIN_STEPS_PER_EPOCH = 100  # an automatic batch leaves at least this many steps per epoch


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
    model_digest: str = ""  # config.answers_digest of what the weights fit ("": a checkpoint of before)


def auto_batch_size(train_drawings: int, accelerator: bool) -> tuple[int, str]:
    """(batch, why) for --batch-size auto: CPU_BATCH on a CPU; on an accelerator the largest of
    AUTO_BATCHES that still leaves MIN_STEPS_PER_EPOCH steps per epoch (a big batch feeds a GPU,
    and too few steps an epoch would leave nothing to schedule, validate or stop on)."""
    if not accelerator:
        return CPU_BATCH, f"batch {CPU_BATCH} (auto: on a CPU)"
    fitting = [batch for batch in AUTO_BATCHES if train_drawings // batch >= MIN_STEPS_PER_EPOCH]
    batch = max(fitting, default=AUTO_BATCHES[0])
    return batch, (
        f"batch {batch} (auto: the largest of {AUTO_BATCHES[0]}..{AUTO_BATCHES[-1]} leaving "
        f"{MIN_STEPS_PER_EPOCH} steps per epoch of {train_drawings:,} drawings)"
    )


def scaled_learning_rate(learning_rate: float, batch: int) -> float:
    """The learning rate for ``batch`` when ``learning_rate`` is meant for CPU_BATCH: scaled by
    the square root of the batch ratio (the rule for Adam-like optimizers; linear scaling would
    give 16x at 1,024, past where this model trains stably)."""
    return learning_rate * math.sqrt(batch / CPU_BATCH)


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
    steps: ``patience`` epochs' worth since the best validation (at an epoch end or a checkpoint),
    and never in the schedule's first half, while the learning rate is still high: a plateau
    there says little about what its decay will bring."""
    if train.max_minutes is not None and progress.seconds >= 60 * train.max_minutes:
        return f"time limit of {train.max_minutes:g} min"
    halfway = (progress.total_steps or train.epochs * steps_per_epoch) // 2
    if progress.position - max(progress.best_position, halfway) >= train.patience * steps_per_epoch:
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

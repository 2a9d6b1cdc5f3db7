"""The `sketch train` workflow: dataset + config -> a run folder. UI-agnostic (callbacks).

The loop is Keras ``fit``; one callback (Monitor) owns the epoch policy: learning-rate
schedule, validation on the valid split, best weights, checkpoint, and when to stop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import artifacts
from ..artifacts import RunError, RunFiles
from ..backend import import_tensorflow, keras_backend
from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig, answers_digest
from ..data import datastore
from ..data.splits import SPLITS
from ..errors import PeerLost, SketchError, first_line, installed, writing
from .devices import (
    Processes,
    agree_across_processes,
    jax_processes,
    join_jax_processes,
    resolve_device,
    resolve_jax_device,
)

if keras_backend() == "tensorflow":
    import_tensorflow()  # quietly, before Keras imports it
import keras  # noqa: E402

from .. import metrics
from ..data import flat
from ..data.datastore import dataset_info  # noqa: E402
from . import pipeline  # noqa: E402
from .inference import KerasPredictor, TensorFlowPredictor  # noqa: E402
from .model import build  # noqa: E402
from .model_io import initialise_from, write_tflite  # noqa: E402
from .schedule import (  # noqa: E402
    CPU_BATCH,
    TrainingState,
    auto_batch_size,
    learning_rate_at,
    planned_steps,
    read_state,
    scaled_learning_rate,
    stop_reason,
)

SMALL_DATA = 50_000  # augmentation is on by default below this many train drawings
VALID_SAMPLE = 20_000  # drawings of the valid split scored after each epoch (flat arrays)
LR_UPDATES = 500  # times the learning rate is set over a run (each costs a state sync under JAX)


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based
    epochs: int
    loss: float
    accuracy: float
    val_accuracy: float
    best_val_accuracy: float
    learning_rate: float
    drawings_per_second: float
    seconds_left: float


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    config: RunConfig
    device: str
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    parameters: int
    drawings_per_second: float
    seconds: float
    stopped: str
    tflite: str  # "written", or why model.tflite was not
    devices: int = 1  # trained on, data parallel
    temperature: float = 1.0  # fitted on the valid split: the output is p^(1/T), renormalised
    temperature_note: str = ""  # why the temperature was kept at 1, when it was (metrics.chosen_temperature)


@dataclass(frozen=True)
class TrainRequest:
    """What `sketch train` was asked for; ``prepare`` turns it into what ``train`` takes."""

    data_dir: Path
    model: ModelConfig
    train: TrainConfig
    format: str | None = None  # which dataset of the data folder; None: the only one, else simplified
    categories: str = ""  # a subset of the dataset's, as the user typed them ("paint_can, Cat")
    run_dir: Path | None = None  # None: a new folder under runs/
    resume: bool = False
    init_from: Path | None = None  # a trained run whose architecture and weights this one starts from
    device: str = "auto"


@dataclass(frozen=True)
class Prepared:
    config: RunConfig
    dataset: Path
    run_dir: Path
    notes: tuple[str, ...] = ()  # for the user: a resumed run's build that is gone


def prepare(request: TrainRequest) -> Prepared:
    """The rules between the command line and training: which build (a resumed run's own while it
    exists), which categories, which architecture (--init-from's), the run folder's name."""
    if request.resume and request.run_dir is None:
        raise SketchError("--resume needs the --run-dir of the run to continue")
    notes = []
    if request.resume and request.run_dir is not None:
        saved = artifacts.read_config(RunFiles(request.run_dir)).data
        dataset = datastore.chosen_build(request.data_dir, saved.format, saved.dataset)
        if saved.dataset and dataset.name != saved.dataset:
            notes.append(f"the dataset build {saved.dataset!r} this run began on is gone; going on with the newest one")
    else:
        dataset = datastore.chosen_build(request.data_dir, request.format)
    info = dataset_info(dataset)
    labels: tuple[str, ...] = ()
    if request.categories:  # named as the dataset names them: the one normalisation of categories.key
        from ..data import categories as catalog

        labels = tuple(catalog.resolve_among(catalog.parse_list(request.categories), info.labels))
    model = request.model
    if request.init_from and not request.resume:
        model = artifacts.read_config(RunFiles(request.init_from)).model  # the weights fit only their architecture
        model = dataclasses.replace(model, temperature=1.0, unsure_below=0.0)  # chosen again for this run
    config = RunConfig(
        data=DataConfig(format=info.format, labels=labels),
        model=model,
        train=dataclasses.replace(request.train, init_from=str(request.init_from or "")),
    )
    return Prepared(config, dataset, request.run_dir or artifacts.new_run_dir(model.arch), tuple(notes))


def train(
    config: RunConfig,
    dataset_path: Path,
    run_dir: Path,
    *,
    device: str = "auto",
    resume: bool = False,
    on_start: Callable[[str, RunConfig, dict], None] = lambda reason, config, sizes: None,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    stop_asked: Callable[[], bool] = lambda: False,
    on_note: Callable[[str], None] = lambda text: None,
) -> TrainResult:
    """``stop_asked``: whether the user asked to stop (a signal), read after every step: a stop
    raised by a signal handler can be lost where Python ignores exceptions (in a finaliser).
    ``on_note``: a line for the user before training starts (waiting for other processes)."""
    files = RunFiles(Path(run_dir))
    if resume:
        config = artifacts.read_config(files)
    elif files.config.exists():
        raise RunError(f"{files.root} already holds a run; use --resume to continue it, or another --run-dir")
    elif not artifacts.is_run_or_empty(files.root):
        raise RunError(f"{files.root} is not empty and holds no run; choose a new or empty --run-dir")
    fresh = not files.root.exists()
    try:
        with artifacts.exclusive(files), datastore.reading(Path(dataset_path)) as dataset:
            artifacts.remove_unfinished(files)
            return _train_locked(config, dataset, files, device, resume, on_start, on_epoch, stop_asked, on_note)
    except BaseException:
        if fresh:  # a start that failed leaves no folder holding only our lock
            artifacts.remove_if_only_lock(files)
        raise


def _train_locked(config, dataset_path, files, device, resume, on_start, on_epoch, stop_asked, on_note) -> TrainResult:
    keras.utils.set_random_seed(config.train.seed)
    on_tensorflow = keras_backend() == "tensorflow"
    in_step = bool(os.environ.get("TF_CONFIG")) if on_tensorflow else jax_processes(os.environ).count > 1
    if in_step and config.train.max_minutes is not None:  # before waiting for the others
        raise SketchError(
            "--max-minutes is decided by each process's clock, and processes training in step must "
            "stop together: stop them with --epochs"
        )
    choice, strategy, processes = _devices(device, on_tensorflow, on_note)
    if choice.mixed_precision:
        keras.mixed_precision.set_global_policy(choice.policy)
    info = dataset_info(dataset_path)
    labels = config.data.labels or info.labels
    if len(labels) < 2:
        raise SketchError(
            f"training needs at least two categories to tell apart; {dataset_path} gives "
            f"{len(labels)} ({', '.join(labels) or 'none'}): download another or widen --categories"
        )
    train_split, valid_split = (
        flat.FlatSplit.open(dataset_path, split, info.labels, labels) for split in ("train", "valid")
    )
    sizes = {split: info.count(split, labels) for split in SPLITS}
    if sizes["train"] == 0 or sizes["valid"] == 0:
        raise SketchError(f"the dataset needs drawings in train and valid to train; it has {sizes}")
    if not resume:
        config = _completed_config(config, labels, info, train_split, sizes["train"])
    config, batch_note = _with_batch_size(config, choice, sizes["train"])  # a hand-edited 0 on --resume too
    if not on_tensorflow and config.train.batch_size % choice.replicas:
        raise SketchError(
            f"batch {config.train.batch_size} does not split evenly over {choice.replicas} devices; "
            f"choose a multiple of {choice.replicas} with --batch-size"
        )
    config = dataclasses.replace(
        config, model=dataclasses.replace(config.model, temperature=1.0, unsure_below=0.0)
    )  # both chosen at the end
    agree_across_processes(processes, _what_processes_share(config, info))

    with strategy.scope():
        classifier = build(config.model, len(labels), config.data.input_scale)  # before any file: it checks the config
        classifier.trainer.compile(
            make_optimizer(config.train, config.train.epochs * max(1, sizes["train"] // config.train.batch_size)),
            _loss(config.train),
            metrics=["accuracy"],
        )
        fresh = TrainingState(model_digest=answers_digest(config))
        progress, best_weights = _restore(files, classifier.trainer, config) if resume else (fresh, None)
        reason = (
            choice.reason if resume else choice.reason + batch_note + _initialised(config, classifier.model, labels)
        )
    if not resume:
        artifacts.write_config(files, config)
    feed = pipeline.Feed(
        train_split,
        config.train.batch_size,
        config.data.max_length,
        config.train.seed,
        config.train.augment,
        classifier.stride if classifier.per_step else None,
        start=progress.position,
        buckets=pipeline.TRACED_BUCKETS if on_tensorflow else pipeline.BUCKETS,
        shard=(processes.index, processes.count),
        balance=config.train.balance,
        balance_among=_official(labels),
    )
    on_start(reason + _balance_note(train_split.labels, feed.plan.pool, labels), config, sizes)
    if files.summary.exists():  # written last: the run is complete
        raise RunError(f"{files.root} finished training already ({progress.stopped or 'summary.json written'})")

    compile_seconds = 0.0 if on_tensorflow or progress.stopped else _compile_every_shape(classifier.trainer, feed)
    predictor = _predictor(classifier.model, len(labels), config, on_tensorflow, choice.replicas)
    validation = Validation(
        _OnThisProcess(predictor) if processes.count > 1 else predictor,
        valid_split,
        config.data.max_length,
    )
    monitor = Monitor(
        classifier.model,
        validation,
        files,
        config,
        progress,
        best_weights,
        feed.plan.batches_per_epoch,
        config.train.batch_size,
        on_epoch,
        compile_seconds,
        checkpoints_by_clock=not in_step,
        stop_asked=stop_asked,
    )
    if not progress.stopped:  # a stopped run crashed after its last checkpoint: just save it
        with _peers_watched(processes, files):
            _fit(classifier, strategy, feed, config, progress, monitor, files, on_tensorflow)
    if monitor.diverged_in:
        raise SketchError(
            f"training diverged: the loss was not a number in epoch {monitor.diverged_in}; "
            f"epochs before it are saved in {files.checkpoint}. Lower --learning-rate and "
            f"train a new run"
        )
    progress.stopped = progress.stopped or "epochs done"
    return _finish(files, config, classifier.model, monitor, choice, validation)


def _official(labels: tuple[str, ...]) -> np.ndarray:
    """The indices of the Quick, Draw! categories among ``labels`` (not one's own words)."""
    from ..data.categories import all_categories

    official = set(all_categories())
    return np.array([index for index, label in enumerate(labels) if label in official], dtype=np.int64)


def _what_processes_share(config: RunConfig, info) -> dict[str, str]:
    """What processes training in step must agree on, first difference first: the labels, the
    dataset (each process's own copy: its counts, format and length), the model and training.
    Folder names and --init-from's path may differ from machine to machine."""
    labels = config.data.labels
    train = {**dataclasses.asdict(config.train), "init_from": bool(config.train.init_from)}
    return {
        "labels": json.dumps(labels),
        "dataset": json.dumps([info.format, info.max_length, [info.counts[label] for label in labels]], sort_keys=True),
        "model": json.dumps(dataclasses.asdict(config.model), sort_keys=True),
        "training options": json.dumps(train, sort_keys=True),
        "input scale": repr(config.data.input_scale),
    }


def _balance_note(labels: np.ndarray, pool: np.ndarray, names) -> str:
    """What --balance repeats, for the user ("" when nothing)."""
    counts = np.bincount(labels, minlength=len(names))
    repeats = np.bincount(labels[pool], minlength=len(names)) // np.maximum(counts, 1)
    repeated = [f"{names[i]} x{repeats[i]}" for i in np.flatnonzero(repeats > 1)]
    if not repeated:
        return ""
    shown = ", ".join(repeated[:5]) + (f" and {len(repeated) - 5} more" if len(repeated) > 5 else "")
    return f"; each epoch repeats the drawings of categories with few (--balance): {shown}"


def _loss(train: TrainConfig):
    if not train.label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy()
    return SmoothedSparseCrossentropy(train.label_smoothing)


@keras.saving.register_keras_serializable(package="sketchrnn")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy against integer labels smoothed towards uniform: the target is 1 - s on the
    label and s / classes on every category (Keras's sparse loss has no label_smoothing)."""

    def __init__(self, smoothing: float, **kwargs):
        super().__init__(**kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        targets = keras.ops.one_hot(keras.ops.cast(y_true, "int32"), keras.ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(targets, y_pred, label_smoothing=self.smoothing)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def make_optimizer(train: TrainConfig, planned_steps: int | None = None):
    """Adam (AdamW with ``train.weight_decay``), keeping a moving average of the weights when
    ``train.weight_average`` > 0. Plain Adam without decay: older runs' checkpoints resume."""
    momentum = averaging_momentum(train.weight_average, planned_steps)
    averaging = {"use_ema": True, "ema_momentum": momentum} if momentum else {}
    if train.weight_decay:
        return keras.optimizers.AdamW(train.learning_rate, weight_decay=train.weight_decay, **averaging)
    return keras.optimizers.Adam(train.learning_rate, **averaging)


def averaging_momentum(weight_average: float, planned_steps: int | None) -> float:
    """The moving average's momentum: ``weight_average``, or less for a run of few steps, whose
    average spans at most a tenth of them (0.998 averages about 500 steps, which in a run of 100
    would still be mostly the initial weights). ``planned_steps`` is the epochs' steps: under a
    time budget that stops sooner, the average spans a larger share of the run."""
    if not weight_average or not planned_steps:
        return weight_average
    return min(weight_average, max(0.0, 1.0 - 10.0 / planned_steps))


@contextlib.contextmanager
def averaged_weights(trainer):
    """Within: the trainer's (and so the drawing-level model's) weights are the optimizer's
    moving average of them; after: the weights as trained, to go on training from."""
    optimizer = getattr(trainer.optimizer, "inner_optimizer", trainer.optimizer)  # inside a loss-scale wrapper
    averages = getattr(optimizer, "_model_variables_moving_average", None)  # Keras's, for use_ema
    if not optimizer.use_ema or not averages:
        yield
        return
    variables = trainer.trainable_variables
    trained = [keras.ops.convert_to_numpy(v.value) for v in variables]
    for variable, average in zip(variables, averages, strict=True):
        variable.assign(keras.ops.convert_to_numpy(average.value))  # a copy: JAX's predict donates its inputs
    try:
        yield
    finally:
        for variable, value in zip(variables, trained, strict=True):
            variable.assign(value)


def _initialised(config, model, labels) -> str:
    """Starts the model from --init-from's run, if given; what to tell the user about it."""
    if not config.train.init_from:
        return ""
    new = initialise_from(Path(config.train.init_from), model, labels)
    return (
        f"; starting from {config.train.init_from}'s weights, "
        f"{len(new)} new categor{'y' if len(new) == 1 else 'ies'}{': ' if new else ''}{', '.join(new)}"
    )


def _predictor(model, classes: int, config, on_tensorflow: bool, replicas: int = 1):
    if on_tensorflow:
        return TensorFlowPredictor(model, classes)
    # One padded length for validation under a compiling backend: one more shape, not four;
    # batches that split evenly over the devices.
    bounds = pipeline.bucket_bounds(config.data.max_length)[-1:]
    return KerasPredictor(model, classes, bounds, rows_multiple=replicas)


def _fit(classifier, strategy, feed, config, progress, monitor, files, on_tensorflow: bool) -> None:
    trainer, steps = classifier.trainer, feed.plan.batches_per_epoch
    batches = _tf_dataset(feed, classifier.per_step) if on_tensorflow else feed.stream()
    if on_tensorflow and _is_multi_worker(strategy):
        _fit_by_strategy(trainer, strategy, batches, config.train.epochs, progress.epoch, steps, [monitor])
        return
    callbacks = [monitor]
    if _tensorflow_installed():  # TensorBoard's event files are written with TensorFlow
        callbacks.append(keras.callbacks.TensorBoard(str(files.logs), write_graph=False, profile_batch=0))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(ran out of data|shuffle=True).*")
        trainer.fit(
            batches,
            epochs=config.train.epochs,
            initial_epoch=progress.epoch,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=0,
        )


@contextlib.contextmanager
def _peers_watched(processes: Processes, files: RunFiles):
    """Under several processes, a step or a copy of the weights that fails (JAX's errors, not this
    process's own disk or files) is, but for a bug, a process that died or left: one line, and
    what to do (every process resumes)."""
    if processes.count == 1:
        yield
        return
    try:
        yield
    except (SketchError, OSError):
        raise  # this process's own: a full disk, a damaged file
    except Exception as error:
        raise PeerLost(
            f"process {processes.index} of {processes.count} stopped training: {first_line(error)}. Another process most "
            f"likely died or left (see its output); the last checkpoint is in {files.checkpoint}, and every "
            f"process can go on with --resume"
        ) from None


def _devices(requested: str, on_tensorflow: bool, on_note) -> tuple:
    """(DeviceChoice, strategy, Processes): under JAX, joined to the other processes first."""
    if on_tensorflow:
        return (*resolve_device(requested), Processes())
    processes = join_jax_processes(on_wait=on_note)
    choice = resolve_jax_device(requested, processes)
    strategy = _JaxDataParallel(choice.kind, processes.count > 1) if choice.replicas > 1 else _OneDevice()
    return choice, strategy, processes


class _OnThisProcess:
    """A predictor on this process's copy of the replicated weights, outside the distribution:
    under several processes, a distributed prediction lies partly on the other processes'
    devices, where this one cannot read it. Every process scores the same sample alike, so all
    take the same decisions (best weights, early stopping) without exchanging them."""

    def __init__(self, predictor):
        self.predictor = predictor

    def predict(self, sequences):
        distribution = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            return self.predictor.predict(sequences)
        finally:
            keras.distribution.set_distribution(distribution)


class _OneDevice:
    """The strategy of a backend without tf.distribute: its default device."""

    def scope(self):
        return contextlib.nullcontext()


class _JaxDataParallel:
    """Keras's DataParallel over every device of a kind, for the whole process: variables
    replicated, each batch split along its first axis (so the global batch must split evenly).
    Under several processes each feeds its own share of every batch (pipeline.Feed's shard)."""

    def __init__(self, kind: str, several_processes: bool = False):
        import jax

        devices = [f"{d.platform}:{d.id}" for d in jax.devices(kind)]
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=devices, auto_shard_dataset=not several_processes)
        )

    def scope(self):
        return contextlib.nullcontext()


def _tensorflow_installed() -> bool:
    return installed("tensorflow")


def _tf_dataset(feed, per_step: bool):
    """The feed as a tf.data.Dataset: with its shapes declared (Keras would guess them from the
    first two batches, and refuse a third of another length)."""
    tf = import_tensorflow()
    targets = [None, None] if per_step else [None]
    signature = (
        {"strokes": tf.TensorSpec([None, None, 3], tf.float32), "length": tf.TensorSpec([None], tf.int32)},
        tf.TensorSpec(targets, tf.int32),
        tf.TensorSpec(targets, tf.float32),
    )
    return tf.data.Dataset.from_generator(feed.stream, output_signature=signature).prefetch(2)


def _calibrated(config: RunConfig, model, validation: Validation):
    """(config, model, note) with the temperature fitted on the valid split, inside the model,
    and the threshold under which a guess is unsure chosen on the calibrated valid split; the
    weights are the same (the calibration layer has none). note: why T was kept at 1."""
    raw = validation.predictor.predict(validation.sequences)
    temperature, note = metrics.chosen_temperature(raw, np.asarray(validation.labels))
    temperature = round(temperature, 4)
    unsure_below = metrics.unsure_threshold(metrics.calibrated(raw, temperature))
    config = dataclasses.replace(
        config, model=dataclasses.replace(config.model, temperature=temperature, unsure_below=unsure_below)
    )
    calibrated = build(config.model, len(config.data.labels), config.data.input_scale).model
    calibrated.set_weights(model.get_weights())
    return config, calibrated, note


def export_with_tensorflow(run_dir: Path) -> str:
    """model.tflite for a run trained on another Keras backend, made by model_io's entry point in
    a process of its own, whose Keras runs on TensorFlow (this one's cannot switch). What
    happened, for the result and summary.json: "written", or why not (`sketch export` can be
    run later)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "sketchrnn_cli.model.model_io", str(run_dir)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    if done.returncode == 0:
        return "written"
    reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return f"not written ({reason}); run sketch export {run_dir} --out {run_dir} where TensorFlow is"


def _is_multi_worker(strategy) -> bool:
    return isinstance(strategy, import_tensorflow().distribute.MultiWorkerMirroredStrategy)


def _fit_by_strategy(trainer, strategy, dataset, epochs: int, initial_epoch: int, steps_per_epoch: int, callbacks):
    """fit's loop for a MultiWorkerMirroredStrategy, whose per-replica batches Keras 3's fit
    cannot take (keras-team/keras#20585: its data adapter converts them to tensors): the strategy
    runs Keras's own train_step on each replica's share. Callbacks see what fit shows them."""
    tf = import_tensorflow()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = iter(strategy.experimental_distribute_dataset(dataset.with_options(options)))

    @tf.function
    def step():
        logs = strategy.run(trainer.train_step, args=(next(batches),))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in logs.items()}

    for callback in callbacks:
        callback.set_model(trainer)
    trainer.stop_training = False
    for epoch in range(initial_epoch, epochs):
        trainer.reset_metrics()
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        for batch in range(steps_per_epoch):
            for callback in callbacks:
                callback.on_train_batch_begin(batch)
            logs = {name: float(value) for name, value in step().items()}
            for callback in callbacks:
                callback.on_train_batch_end(batch, logs)
            if trainer.stop_training:
                break
        for callback in callbacks:
            callback.on_epoch_end(epoch, dict(logs))
        if trainer.stop_training:
            return


def _compile_every_shape(trainer, feed) -> float:
    """Trains one batch of each padded length before fit, so a compiling backend (XLA) builds
    every shape before the clock of the schedule starts; returns the seconds it took."""
    started = time.monotonic()
    for batch in feed.one_batch_per_shape():
        trainer.train_on_batch(*batch)
    return time.monotonic() - started


def _with_batch_size(config: RunConfig, choice, train_size: int) -> tuple[RunConfig, str]:
    """--batch-size auto (0) made a number for the device, the learning rate scaled with it;
    and what to tell the user ("" for a batch they chose)."""
    if config.train.batch_size:
        return config, ""
    batch, why = auto_batch_size(train_size, accelerator=choice.kind != "cpu")
    learning_rate = scaled_learning_rate(config.train.learning_rate, batch)
    scaled = f", learning rate {learning_rate:.2g} (x sqrt({batch}/{CPU_BATCH}))" if batch != CPU_BATCH else ""
    train = dataclasses.replace(config.train, batch_size=batch, learning_rate=learning_rate)
    return dataclasses.replace(config, train=train), f"; {why}{scaled}"


def _completed_config(config, labels, info, train_split, train_size) -> RunConfig:
    """Fills in what comes from the data: labels, length, offset scale (train split only),
    augmentation."""
    augment = config.train.augment if config.train.augment is not None else train_size < SMALL_DATA
    if config.train.init_from:  # the weights learnt on the other run's scale of offsets
        input_scale = artifacts.read_config(RunFiles(Path(config.train.init_from))).data.input_scale
    else:
        input_scale = flat.offset_scale(train_split)
    return dataclasses.replace(
        config,
        data=dataclasses.replace(
            config.data,
            labels=tuple(labels),
            max_length=info.max_length,
            input_scale=input_scale,
            dataset=info.path.name,
        ),
        train=dataclasses.replace(config.train, augment=augment),
    )


class Validation:
    """A fixed sample of at most VALID_SAMPLE drawings of the valid split (a bounded pass),
    read once, scored with the same TensorFlowPredictor as evaluate and predict."""

    def __init__(self, predictor, split: flat.FlatSplit, max_length: int):
        self.predictor = predictor
        rows = np.sort(np.random.default_rng(0).permutation(len(split))[:VALID_SAMPLE])
        self.sequences, self.labels = split.sequences(rows, max_length), split.labels[rows]

    def accuracy(self) -> float:
        """Top-1 accuracy of the drawing-level output (also for per-step training)."""
        return metrics.top_k_accuracy(self.predictor.predict(self.sequences), np.asarray(self.labels), 1) or 0.0


class Monitor(keras.callbacks.Callback):
    """The learning rate by steps, validation, best weights, checkpoints (each epoch and every
    --checkpoint-minutes), stopping (within a step of a time budget), reporting.

    Under --max-minutes the schedule's total steps are fixed once, from the speed measured
    between the first two epoch ends or checkpoints: after compiling and tracing, with
    validation's share of the time in it."""

    def __init__(
        self,
        model,
        validation,
        files,
        config,
        progress,
        best_weights,
        steps_per_epoch,
        batch_size,
        on_epoch,
        compile_seconds: float = 0.0,
        checkpoints_by_clock: bool = True,
        stop_asked: Callable[[], bool] = lambda: False,
    ):
        super().__init__()
        self.inference_model, self.validation, self.files, self.config = model, validation, files, config
        self.progress, self.best_weights, self.on_epoch = progress, best_weights, on_epoch
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        self.rates: list[float] = []
        self.diverged_in = 0  # the epoch whose loss was NaN or infinite, if one was
        progress.seconds += compile_seconds  # spent before fit: in the budget, not in the schedule
        self.session_started, self.seconds_before = time.monotonic(), progress.seconds
        self.last_checkpoint = time.monotonic()
        self.checkpoints_by_clock = checkpoints_by_clock  # off for processes in step: clocks differ
        self.stop_asked = stop_asked
        self.window = None  # (position, time) where the speed measurement began
        self.planning = config.train.max_minutes is not None and not progress.total_steps

    def elapsed(self) -> float:
        return self.seconds_before + time.monotonic() - self.session_started

    def total_steps(self) -> int:
        return self.progress.total_steps or self.config.train.epochs * self.steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.epoch_position = time.monotonic(), self.progress.position

    def on_train_batch_begin(self, batch, logs=None):
        position = self.progress.position
        if batch == 0 or position % max(1, self.total_steps() // LR_UPDATES) == 0:
            self._sync()  # under JAX the optimizer's state lives outside its variables mid-epoch
            self.model.optimizer.learning_rate.assign(learning_rate_at(position, self.total_steps(), self.config.train))

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_asked():
            raise KeyboardInterrupt("a stop was asked for")  # as the signal's handler would have
        self.progress.position += 1
        budget = self.config.train.max_minutes
        if budget is not None and self.elapsed() >= 60 * budget:
            self.model.stop_training = True  # within a step of the budget; the epoch's end saves it
        elif (
            self.checkpoints_by_clock
            and time.monotonic() - self.last_checkpoint >= 60 * self.config.train.checkpoint_minutes
        ):
            self._sync()
            self._validate(self.progress.epoch + 1)
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}  # the callbacks after this one see val_accuracy in it
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.diverged_in = epoch + 1  # nothing of this epoch is kept: its weights are not numbers
            self.model.stop_training = True
            return
        state, seconds = self.progress, time.monotonic() - self.started
        val_accuracy = logs["val_accuracy"] = self._validate(epoch + 1)
        state.epoch = epoch + 1
        self.rates.append((state.position - self.epoch_position) * self.batch_size / max(seconds, 1e-9))
        state.history.append(
            {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", math.nan)),
                "accuracy": float(logs.get("accuracy", math.nan)),
                "val_accuracy": float(val_accuracy),
                "learning_rate": float(np.asarray(self.model.optimizer.learning_rate)),
                "seconds": seconds,
                "drawings_per_second": self.rates[-1],
                "steps": state.position,
            }
        )
        state.seconds = self.elapsed()
        state.stopped = stop_reason(state, self.config.train, self.steps_per_epoch)
        if state.stopped:
            self.model.stop_training = True
        self._save()
        self.on_epoch(
            EpochReport(
                epoch=epoch + 1,
                epochs=self.config.train.epochs,
                loss=state.history[-1]["loss"],
                accuracy=state.history[-1]["accuracy"],
                val_accuracy=val_accuracy,
                best_val_accuracy=state.best_val_accuracy,
                learning_rate=state.history[-1]["learning_rate"],
                drawings_per_second=self.rates[-1],
                seconds_left=self._seconds_left(seconds),
            )
        )

    def _sync(self):
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def _validate(self, epoch: int) -> float:
        """Scores the weights that would be kept (the moving average, if kept) on the valid sample."""
        with averaged_weights(self.model):
            accuracy = self.validation.accuracy()
            if accuracy > self.progress.best_val_accuracy:
                self.progress.best_val_accuracy, self.progress.best_epoch = accuracy, epoch
                self.progress.best_position = self.progress.position
                self.best_weights = self.inference_model.get_weights()
        return accuracy

    def _save(self):
        """A checkpoint (the last one stays whole until this one is), and the schedule's plan."""
        self.progress.seconds = self.elapsed()
        self._plan()
        with writing(self.files.checkpoint):
            _save_checkpoint(self.files, self.model, self.progress, self.best_weights)
        self.last_checkpoint = time.monotonic()

    def _plan(self):
        """Fixes the total steps from the speed between the first two saves (under a budget)."""
        if not self.planning:
            return
        now, position = time.monotonic(), self.progress.position
        if self.window is None:
            self.window = (position, now)
            return
        steps, seconds = position - self.window[0], now - self.window[1]
        if steps > 0 and seconds > 0:
            self.progress.total_steps = max(
                1,
                planned_steps(
                    position,
                    steps / seconds,
                    60 * self.config.train.max_minutes - self.elapsed(),
                    self.config.train,
                    self.steps_per_epoch,
                ),
            )
            self.planning = False

    def _seconds_left(self, epoch_seconds: float) -> float:
        by_epochs = (self.config.train.epochs - self.progress.epoch) * epoch_seconds
        if self.config.train.max_minutes is None:
            return by_epochs
        return max(0.0, min(by_epochs, 60 * self.config.train.max_minutes - self.progress.seconds))


def _save_checkpoint(files: RunFiles, trainer, progress: TrainingState, best_weights) -> None:
    def fill(folder: Path):
        names = artifacts.CheckpointFiles(folder)
        trainer.save_weights(names.last_weights)  # with the optimizer's state
        np.savez(names.best_weights, *(best_weights or []))
        names.state.write_text(json.dumps(dataclasses.asdict(progress)))

    artifacts.replace_folder(files.checkpoint, fill)


def _restore(files: RunFiles, trainer, config: RunConfig):
    """Weights, optimizer state and progress of the last checkpoint; RunError naming the file
    and what to do when any part of it is damaged, or when config.json no longer describes the
    model the checkpoint holds (edited by hand)."""
    folder = artifacts.finished_folder(files.checkpoint)
    names = artifacts.CheckpointFiles(folder) if folder is not None else None
    if names is None or not names.state.is_file():
        return TrainingState(model_digest=answers_digest(config)), None  # before its first checkpoint: start again
    progress = read_state(names.state)
    if progress.model_digest and progress.model_digest != answers_digest(config):
        raise RunError(
            f"{files.config}: its model or labels changed after the checkpoint in {folder} was written "
            "(edited by hand?); put them back as they were to resume, or train a new run"
        )
    trainer.optimizer.build(trainer.trainable_variables)  # so its saved state has a place to go
    weights = names.last_weights
    try:
        trainer.load_weights(weights)
    except Exception as error:  # h5py's and Keras's own errors for a truncated or foreign file
        raise _damaged(weights, error) from None
    try:
        with np.load(names.best_weights, allow_pickle=False) as saved:
            best = [saved[f"arr_{i}"] for i in range(len(saved.files))] or None
    except Exception as error:  # zipfile's, NumPy's: random bytes, a truncated file
        raise _damaged(names.best_weights, error) from None
    return progress, best


def _damaged(path: Path, error: Exception) -> RunError:
    return RunError(
        f"{path}: damaged checkpoint ({first_line(error)}); delete {path.parent} to resume from the start, or train a new run"
    )


def _finish(files: RunFiles, config: RunConfig, model, monitor: Monitor, choice, validation: Validation) -> TrainResult:
    progress = monitor.progress
    if monitor.best_weights is not None:
        model.set_weights(monitor.best_weights)
    config, model, temperature_note = _calibrated(config, model, validation)
    artifacts.write_config(files, config)  # with the temperature the saved model carries
    with writing(files.keras_model):
        artifacts.atomic_write(files.keras_model, lambda tmp: model.save(tmp))
    if keras_backend() == "tensorflow":
        with writing(files.tflite_model):
            write_tflite(model, files.tflite_model, config)
        tflite = "written"
    elif _tensorflow_installed():
        tflite = export_with_tensorflow(files.root)
    else:
        tflite = f"not written (no TensorFlow here); run sketch export {files.root} --out {files.root} where it is"
    result = TrainResult(
        run_dir=files.root,
        config=config,
        device=choice.reason,
        devices=choice.replicas,
        epochs_run=progress.epoch,
        best_epoch=progress.best_epoch,
        best_val_accuracy=progress.best_val_accuracy,
        parameters=int(model.count_params()),
        drawings_per_second=float(np.median(monitor.rates)) if monitor.rates else 0.0,
        seconds=progress.seconds,
        stopped=progress.stopped,
        tflite=tflite,
        temperature=config.model.temperature,
        temperature_note=temperature_note,
    )
    artifacts.atomic_write_text(files.history, json.dumps(progress.history, indent=1))
    summary = {k: v for k, v in dataclasses.asdict(result).items() if k not in ("config", "run_dir")}
    artifacts.atomic_write_text(files.summary, json.dumps(summary, indent=1))
    return result

"""The `sketch` command. Each command parses options, calls one workflow, renders the result.

Workflow modules are imported inside command bodies: `sketch --help` never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import click

from .. import __version__
from ..backend import KERAS_BACKENDS
from ..config import ARCHITECTURES, FORMATS, SIZES, DataConfig, ModelConfig, TrainConfig, limits
from ..data.sources import OFFICIAL_SOURCE, Network
from ..data.splits import SCORED_SPLITS, SPLITS
from ..errors import ExitNow, installed, require
from ..metrics import shown_probability
from ..model.inference import ENGINE_CHOICES, unusual_engine
from ..model.model_io import EXPORT_FORMATS
from . import ui

TRAIN_MODULES = ("tensorflow", "tensorflow_datasets")  # the [train] extra: train, export, download --tfds

DEFAULT_DATA_DIR = "data"
LARGE_DOWNLOAD_BYTES = 100_000_000  # from this size on, download says what it will fetch and store

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    envvar="SKETCH_DATA_DIR",
    show_default=True,
    show_envvar=True,
    help="Folder of downloads and datasets; one dataset per folder and format.",
)


class FiniteRange(click.FloatRange):
    """click.FloatRange that refuses NaN and infinity as a usage error (exit 2), as it refuses -1."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def field_option(section, name: str, *, help: str | None = None, default: bool = True):
    """--NAME for a bounded config field: its bounds (config.limits) as the option's type, whole
    numbers for a whole-number field, and the field's default, shown (default=False: none, for
    options whose value otherwise comes from a preset, such as the model size's)."""
    value = getattr(section, name)
    kind = click.IntRange if isinstance(value, int) and not isinstance(value, bool) else FiniteRange
    shown = {"default": value, "show_default": True} if default and value is not None else {}
    return click.option(f"--{name.replace('_', '-')}", type=kind(**limits(section, name)), help=help, **shown)


class BatchSize(click.IntRange):
    """A batch size, or "auto" (0 in TrainConfig: chosen for the device when training starts)."""

    name = "batch size"

    def __init__(self):
        super().__init__(min=1, max=limits(TrainConfig, "batch_size")["max"])

    def convert(self, value, param, ctx):
        if value in ("auto", 0):
            return 0
        return super().convert(value, param, ctx)

    def get_metavar(self, param, ctx):
        return "auto|N"


PIPE_CLOSED = 128 + 13  # the shell's status for a writer stopped by SIGPIPE, as `yes | head -1` gives


class Interrupted(click.ClickException):
    """Ctrl-C or SIGTERM: one line, and the shell's exit status 128 + the signal's number."""

    def __init__(self, message: str, signal_number: int = signal.SIGINT):
        super().__init__(message)
        self.exit_code = 128 + int(signal_number)  # type: ignore[misc]  # click reads it per instance


class Stop(KeyboardInterrupt):
    """Raised by our signal handlers; remembers which signal it was."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


class SketchGroup(click.Group):
    """The shell's conventions around every command: a reader that closes the pipe
    (`sketch predict ... | head -1`) stops us quietly; Ctrl-C is one line and status 130."""

    def invoke(self, ctx):
        _interrupt_on(signal.SIGINT, signal.SIGTERM)  # every command stops cleanly, work done so far kept
        try:
            with ui.user_errors():  # SketchError and the OS's errors: one line; anything else is a bug
                return super().invoke(ctx)
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(PIPE_CLOSED)
        except KeyboardInterrupt as stop:
            raise Interrupted("interrupted", getattr(stop, "signal_number", signal.SIGINT)) from None


def _silence_stdout() -> None:
    """Points standard output at /dev/null, so the flush at exit has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class GroupedCommand(click.Command):
    """A command whose --help lists its options in titled sections (``sections``: title ->
    parameter names, in order); options in no section come last, under "Other options"."""

    sections: dict[str, tuple[str, ...]] = {}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        placed: set[str | None] = set()
        for title, names in self.sections.items():
            rows = [records[name] for name in names if records.get(name)]
            placed.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)  # type: ignore[arg-type]
        rest = [record for name, record in records.items() if name not in placed and record]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


def grouped(**sections: tuple[str, ...]) -> type[GroupedCommand]:
    """A GroupedCommand class with these sections (keyword: the title, spaces as underscores)."""
    titles = {title.replace("_", " ").capitalize(): names for title, names in sections.items()}
    return type("Grouped", (GroupedCommand,), {"sections": titles})


@click.group(cls=SketchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sketch")
def main() -> None:
    """Classify Quick, Draw! sketches from their strokes.

    \b
    sketch download --categories "cat,airplane"   fetch drawings and build the dataset
    sketch train                                  train a Conv1D + LSTM classifier
    sketch evaluate runs/<run>                    score it on the test split
    sketch predict drawing.ndjson                 classify your own drawings
    """
    # Set before anything imports TensorFlow; TF_CPP_MIN_LOG_LEVEL=0 brings the C++ logs back.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if click.get_current_context().invoked_subcommand != "train":
        # The Keras backend of evaluate, predict, draw and export: TensorFlow where it is
        # installed, else JAX (the [jax] install, which has no TensorFlow).
        os.environ["KERAS_BACKEND"] = "tensorflow" if installed("tensorflow") else "jax"


@main.command()
@data_dir_option
@click.option("--categories", "category_list", metavar="NAMES", help='Comma-separated, e.g. "cat,airplane,paint can".')
@click.option("--categories-file", type=click.File("r"), help="A file of category names, one per line.")
@click.option("--all", "all_categories", is_flag=True, help="All 345 categories.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="simplified",
    show_default=True,
    help="simplified or raw ndjson, or Sketch-RNN npz.",
)
@click.option(
    "--source",
    default=OFFICIAL_SOURCE,
    envvar="SKETCH_SOURCE",
    show_default=True,
    show_envvar=True,
    help="Base URL (http/https) or local folder laid out like the official bucket.",
)
@click.option("--max-per-class", type=click.IntRange(min=1), help="Keep at most N drawings per category.")
@click.option("--recognized-only", is_flag=True, help="Keep only drawings the game recognised.")
@field_option(DataConfig, "max_length", help="Points kept per drawing.")
@click.option(
    "--retries",
    type=click.IntRange(0, 100),
    default=Network.retries,
    show_default=True,
    help="Tries again after a dropped connection, a timeout or HTTP 5xx/429, resuming where it stopped.",
)
@click.option(
    "--timeout",
    type=FiniteRange(0.1, 3600),
    default=Network.timeout,
    show_default=True,
    help="Seconds without an answer, or with almost no data, before a transfer counts as stalled.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=os.cpu_count() or 1,
    show_default="all cores",
    help="Categories converted at once, each in its own process.",
)
@click.option(
    "--keep-downloads/--no-keep-downloads",
    default=True,
    show_default=True,
    help="Keep each fetched file (the full simplified set is ~22 GB) or delete it once converted.",
)
@click.option(
    "--own-categories",
    is_flag=True,
    help="--source is your own ndjson file or folder (as sketch draw saves), or Kaggle's CSV files: the categories are their words, known or not.",
)
@click.option(
    "--tfds",
    "tfds_files",
    is_flag=True,
    help="Also write TFDS files (tfds.builder_from_directory reads them); sketch itself reads the flat arrays.",
)
@click.option(
    "--beam-runner",
    metavar="RUNNER",
    help="Convert and write the TFDS files with Apache Beam: DirectRunner, FlinkRunner, SparkRunner, DataflowRunner... (needs sketchrnn-cli[beam]).",
)
@click.option(
    "--beam-option",
    "beam_options",
    metavar="OPTION",
    multiple=True,
    help="A Beam pipeline option, as on Beam's command line: --beam-option=--direct_num_workers=2 (repeatable).",
)
def download(
    data_dir,
    category_list,
    categories_file,
    all_categories,
    format_,
    source,
    max_per_class,
    recognized_only,
    max_length,
    retries,
    timeout,
    workers,
    keep_downloads,
    own_categories,
    tfds_files,
    beam_runner,
    beam_options,
):
    """Download drawings and convert them into a stroke-delta dataset."""
    from .. import api
    from ..data import categories as catalog
    from ..data.download import BeamSettings

    if beam_options and not beam_runner:
        raise click.UsageError("--beam-option goes with --beam-runner")
    if tfds_files or beam_runner:  # the flat arrays alone need NumPy only
        require(*TRAIN_MODULES, *(("apache_beam",) if beam_runner else ()))
        from ..data import builder  # noqa: F401  before the progress thread: TFDS patches imports while it loads
    if own_categories:
        names, own_drawings = (), _own_drawings(source, category_list or categories_file or all_categories)
    else:
        names, own_drawings = _chosen_categories(catalog, category_list, categories_file, all_categories), None
    request = api.DownloadRequest(
        categories=tuple(names),
        data_dir=data_dir,
        format=format_,
        source=source,
        options=api.CollectOptions(max_per_class, recognized_only, max_length),
        network=Network(timeout=timeout, retries=retries),
        workers=workers,
        keep_downloads=keep_downloads,
        tfds=tfds_files,
        beam=BeamSettings(beam_runner, tuple(beam_options)) if beam_runner else None,
        own_drawings=own_drawings,
    )
    started = time.monotonic()
    with ui.download_progress() as progress:
        overall = progress.add_task(f"converting on {workers} worker(s)", total=len(names) or None, summary=True)
        reading = {}  # category -> its task: one bar per file being converted, on every worker

        def on_done(name, done, count, drawings):
            rate = drawings / max(time.monotonic() - started, 1e-6)
            progress.update(
                overall,
                description=f"[{done}/{count}] categories done; {drawings:,} drawings, {rate:,.0f}/s",
                completed=done,
                total=count,
            )
            if name in reading:
                progress.remove_task(reading.pop(name))

        def on_file(name, done, total):
            if name in reading:
                progress.update(reading[name], completed=done, total=total)
            else:  # the bytes read so far are where it starts, not a jump in speed
                reading[name] = progress.add_task(f"  {name}", total=total, completed=done)

        def on_plan(room):  # a large download says what it will take first
            if room.store >= LARGE_DOWNLOAD_BYTES:
                from ..data.disk import size_text

                fetched = f"fetches at most {size_text(room.fetch)} and " if room.fetch else ""
                progress.console.print(
                    f"this download {fetched}stores about {size_text(room.store)} under "
                    f"{data_dir} ({size_text(room.free)} free)",
                    markup=False,
                )

        summary = api.download(request, on_category=on_done, on_file=on_file, on_plan=on_plan)
    _show_download(summary)


def _own_drawings(source: str, chosen) -> Path:
    """The file or folder of your own drawings that --own-categories reads."""
    from ..data.sources import is_remote

    if chosen:
        raise click.UsageError("--own-categories takes the categories from the files; drop --categories/--all")
    if is_remote(source):
        raise click.UsageError("--own-categories needs --source to be a local file or folder of your drawings")
    return Path(source).expanduser()


def _show_own(own) -> None:
    """What --own-categories read: its words, what joined an official category, lines left out."""
    ui.warn_some([f"skipped {line}" for line in own.skipped], "lines skipped")
    ui.note_some([f"{line}: one normalisation of names" for line in own.merged], "spellings merged")
    ui.note(f"{len(own.words)} categories from your drawings: {', '.join(own.words)}")


def _chosen_categories(catalog, category_list, categories_file, all_categories) -> list[str]:
    given = sum(x is not None and x is not False for x in (category_list, categories_file, all_categories or None))
    if given != 1:
        raise click.UsageError("choose the categories with exactly one of --categories, --categories-file, --all")
    if all_categories:
        return list(catalog.all_categories())
    text = category_list if category_list is not None else categories_file.read()
    return catalog.resolve(catalog.parse_list(text))


def _show_download(summary) -> None:
    collected = summary.converted
    if summary.own:
        _show_own(summary.own)
    counts = collected.counts()
    rows = [[name, *split_counts.values(), sum(split_counts.values())] for name, split_counts in counts.items()]
    totals = [sum(row[i] for row in rows) for i in range(1, len(SPLITS) + 2)]
    ui.out.print(ui.table(None, ["category", *SPLITS, "total"], rows + [["all", *totals]]))
    ui.note(f"dataset written to {summary.dataset_dir}")
    for record in collected.skipped[:20]:
        ui.warn(f"skipped {record}")
    if collected.skipped_count:
        more = collected.skipped_count - min(20, len(collected.skipped))
        tail = f" ({more} not shown)" if more else ""
        ui.warn(f"{collected.skipped_count} malformed drawing(s) skipped{tail}")
    if collected.unrecognized_count:
        ui.note(f"{collected.unrecognized_count} unrecognised drawing(s) left out (--recognized-only)")
    for name, split_counts in counts.items():
        if sum(split_counts.values()) == 0:
            ui.warn(f"category {name!r} has no drawings")
    for name in collected.categories:
        manifest = collected.manifests[name]
        if "yours" in manifest:
            there = f" ({manifest['already_there']} already there)" if manifest["already_there"] else ""
            ui.note(f"{name}: {manifest['official']:,} official + {manifest['yours']:,} yours{there}")


def _csv_ints(ctx, param, value):
    if value is None:
        return None
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


TRAIN_SECTIONS = grouped(
    data_options=("data_dir", "format_", "category_list", "balance"),
    model_options=(
        "size",
        "arch",
        "conv_filters",
        "conv_strides",
        "rnn_units",
        "rnn_layers",
        "layer_norm",
        "dropout",
        "image_side",
        "per_step_loss",
        "init_from",
    ),
    schedule_options=(
        "max_minutes",
        "epochs",
        "patience",
        "batch_size",
        "learning_rate",
        "weight_average",
        "weight_decay",
        "label_smoothing",
        "augment",
        "seed",
    ),
    device_options=("device", "keras_backend"),
    run_folder_options=("run_dir", "resume", "checkpoint_minutes"),
)


@main.command(cls=TRAIN_SECTIONS)
@data_dir_option
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    help="Which dataset of the data folder [default: the only one, else simplified].",
)
@click.option(
    "--categories",
    "category_list",
    metavar="NAMES",
    help="Train on a subset of the dataset's categories [default: all of them].",
)
@click.option(
    "--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Run folder [default: a new one under runs/]."
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in --run-dir from its last finished epoch, with its saved settings.",
)
@click.option(
    "--arch",
    type=click.Choice(ARCHITECTURES),
    default=ModelConfig.arch,
    show_default=True,
    help="What reads the strokes after the Conv1D layers: an LSTM, a GRU, or dilated convolutions (WaveNet).",
)
@click.option(
    "--size",
    type=click.Choice(tuple(SIZES)),
    default="default",
    show_default=True,
    help="The model's size (the docs' Training page: Model sizes); the model options below change single parts of it.",
)
@field_option(TrainConfig, "epochs", help="Passes over the train split at most (early stopping may end sooner).")
@click.option(
    "--batch-size",
    type=BatchSize(),
    default="auto",
    show_default=True,
    help="auto: 64 on a CPU; on a GPU the largest of 64..1024 leaving 100 steps per epoch, with the "
    "learning rate times sqrt(batch / 64).",
)
@field_option(
    TrainConfig, "learning_rate", help="The peak learning rate, for batch 64 (cosine decay over the planned steps)."
)
@field_option(
    TrainConfig,
    "max_minutes",
    help="Stop within a step of this budget (compiling included); the best weights are kept "
    "[default: none: up to --epochs, or early stopping].",
)
@field_option(
    TrainConfig,
    "checkpoint_minutes",
    help="Also checkpoint (and validate) this often within an epoch; --resume goes on from there.",
)
@field_option(TrainConfig, "patience", help="Early stopping: epochs without a better valid accuracy.")
@field_option(
    TrainConfig,
    "weight_average",
    help="Momentum of the moving average of the weights that is validated and kept; 0: the weights as trained.",
)
@field_option(TrainConfig, "weight_decay", help="Decoupled weight decay (AdamW); 0: plain Adam.")
@field_option(
    TrainConfig,
    "label_smoothing",
    help="Targets of 1 - S on the label and S / categories on each category; 0: one-hot.",
)
@field_option(
    TrainConfig,
    "balance",
    help="Repeat each epoch the drawings of categories with fewer than B x the median category's, "
    "up to about that many (a few of your own words beside big categories); 0: each drawing once.",
)
@field_option(TrainConfig, "seed", help="Same seed, same data: same result on CPU (without --max-minutes).")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "gpu"]),
    default="auto",
    show_default=True,
    help="auto: every GPU the backend sees (mixed precision where it helps), else the CPU.",
)
@click.option(
    "--keras-backend",
    type=click.Choice(KERAS_BACKENDS),
    envvar="KERAS_BACKEND",
    default="tensorflow",
    show_default=True,
    show_envvar=True,
    help='What Keras trains on; jax needs no TensorFlow (pip install ".[jax]").',
)
@click.option(
    "--augment/--no-augment",
    default=None,
    help="Random stretch, rotation, mirror, dropped points and strokes [default: on below 50,000 train drawings].",
)
@click.option(
    "--per-step-loss/--no-per-step-loss",
    default=ModelConfig.per_step_loss,
    show_default=True,
    help="Loss on the class at every real step, not only the pooled one.",
)
@click.option("--layer-norm", is_flag=True, help="LayerNormalization after each recurrent layer.")
@click.option(
    "--conv-filters",
    callback=_csv_ints,
    metavar="N,N,...",
    help=f"Conv1D widths [default: the size's; default size: {','.join(map(str, ModelConfig.conv_filters))}].",
)
@click.option(
    "--conv-strides",
    callback=_csv_ints,
    metavar="N,N,...",
    help=f"Conv1D strides [default: the size's; default size: {','.join(map(str, ModelConfig.conv_strides))}].",
)
@field_option(
    ModelConfig,
    "rnn_units",
    help=f"Units of each recurrent layer (each way) [default: the size's; default size: {ModelConfig.rnn_units}].",
    default=False,
)
@field_option(
    ModelConfig,
    "rnn_layers",
    help=f"Recurrent layers stacked [default: the size's; default size: {ModelConfig.rnn_layers}].",
    default=False,
)
@field_option(ModelConfig, "dropout", help="Share of features dropped before the classifier while training.")
@click.option(
    "--init-from",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="RUN",
    help="Start from a trained run's weights and architecture (model options are then ignored); categories it does not know get new outputs.",
)
@field_option(
    ModelConfig,
    "image_side",
    help="Also draw each drawing as an N x N image for a small CNN beside the strokes; 0: strokes only "
    f"[default: the size's; default size: {ModelConfig.image_side}].",
    default=False,
)
def train(
    data_dir,
    format_,
    category_list,
    run_dir,
    resume,
    arch,
    size,
    epochs,
    batch_size,
    learning_rate,
    max_minutes,
    patience,
    seed,
    device,
    augment,
    per_step_loss,
    layer_norm,
    conv_filters,
    conv_strides,
    rnn_units,
    rnn_layers,
    dropout,
    image_side,
    init_from,
    keras_backend,
    checkpoint_minutes,
    weight_average,
    weight_decay,
    label_smoothing,
    balance,
):
    """Train a classifier on a downloaded dataset; writes a run folder."""
    os.environ["KERAS_BACKEND"] = keras_backend  # read once, when Keras is first imported
    if keras_backend == "jax" and device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    require(*(TRAIN_MODULES if keras_backend == "tensorflow" else ("keras", "jax")))
    from .. import api

    ignored = _ignored_options(click.get_current_context(), resume, init_from)
    if ignored:
        ui.warn(ignored)
    started: list[api.TrainStart] = []  # the run folder, for what to say if it is stopped

    def on_start(start: api.TrainStart) -> None:
        started.append(start)
        _show_train_start(start)

    try:
        result = api.train(
            data_dir,
            format=format_,
            categories=category_list or "",
            run_dir=run_dir,
            resume=resume,
            init_from=init_from,
            device=device,
            model=ModelConfig.sized(
                size,
                conv_filters,
                conv_strides,
                arch=arch,
                rnn_units=rnn_units,
                rnn_layers=rnn_layers,
                layer_norm=layer_norm,
                dropout=dropout,
                per_step_loss=per_step_loss,
                image_side=image_side,
            ),
            training=TrainConfig(
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                seed=seed,
                max_minutes=max_minutes,
                patience=patience,
                augment=augment,
                checkpoint_minutes=checkpoint_minutes,
                weight_average=weight_average,
                weight_decay=weight_decay,
                label_smoothing=label_smoothing,
                balance=balance,
            ),
            on_note=ui.note,
            on_start=on_start,
            on_epoch=_show_epoch,
            stop_asked=lambda: bool(_signals_received),
        )
    except KeyboardInterrupt as stop:
        number = getattr(stop, "signal_number", _signals_received[-1] if _signals_received else signal.SIGINT)
        raise Interrupted(_how_to_continue(started[0].run_dir if started else run_dir), number) from None
    except ExitNow as error:  # at once: JAX's shutdown at exit would wait for the other processes, then abort
        click.echo(f"Error: {ui.one_line(str(error))}", err=True)
        sys.stderr.flush()
        os._exit(error.exit_code)
    except Exception:
        if _signals_received:  # our Stop, raised inside TensorFlow's code and wrapped by it as its own error
            raise Interrupted(
                _how_to_continue(started[0].run_dir if started else run_dir), _signals_received[-1]
            ) from None
        raise
    rows = [
        ["run folder", result.run_dir],
        ["architecture", f"{result.config.model.arch}, size {result.config.model.size}"],
        ["parameters", f"{result.parameters:,}"],
        ["device", result.device],
        ["epochs", f"{result.epochs_run} ({result.stopped})"],
        ["best valid accuracy", f"{result.best_val_accuracy:.2%} (epoch {result.best_epoch})"],
        ["drawings/s (train)", f"{result.drawings_per_second:,.0f}"],
        ["training time", f"{result.seconds / 60:.1f} min"],
        ["model.tflite", result.tflite],
        [
            "temperature (valid split)",
            f"{result.temperature:g}" + (f" ({note})" if (note := result.temperature_note) else ""),
        ],
    ]
    ui.out.print(ui.table("Training finished", ["", ""], rows, justify_numbers=False))
    ui.note(f"next: sketch evaluate {result.run_dir} --report report.html")
    from ..artifacts import RunFiles

    logs = RunFiles(result.run_dir).logs
    if logs.is_dir():
        ui.note(f"training curves: tensorboard --logdir {logs}")


# The parameters of `sketch train` that shape the model, and those that shape the run.
MODEL_OPTIONS = frozenset(
    "arch size conv_filters conv_strides rnn_units rnn_layers layer_norm dropout per_step_loss image_side".split()
)
RUN_OPTIONS = frozenset(
    "format_ category_list epochs batch_size learning_rate max_minutes patience seed augment checkpoint_minutes "
    "weight_average weight_decay label_smoothing balance".split()
)


def _ignored_options(ctx: click.Context, resume: bool, init_from) -> str:
    """A line naming the options given that this run will not use ("" when none): --resume
    continues with the run's own config.json, --init-from keeps the other run's architecture."""
    from click.core import ParameterSource

    given = [p for p in ctx.command.params if ctx.get_parameter_source(p.name or "") == ParameterSource.COMMANDLINE]
    if resume:
        ignored, why = (
            [p for p in given if p.name in MODEL_OPTIONS | RUN_OPTIONS],
            "--resume continues with the run's config.json",
        )
    elif init_from:
        ignored, why = (
            [p for p in given if p.name in MODEL_OPTIONS],
            f"--init-from keeps the architecture of {init_from}",
        )
    else:
        return ""
    if not ignored:
        return ""
    return f"{why}; ignored: {', '.join(max(p.opts, key=len) for p in ignored)}"


def _how_to_continue(run_dir: Path | None) -> str:
    from ..artifacts import RunFiles, finished_folder

    if run_dir is None:  # stopped before a run folder was chosen
        return "interrupted before training began; nothing was saved"
    files = RunFiles(run_dir)
    resume = f"Continue with: sketch train --resume --run-dir {run_dir}"
    if finished_folder(files.checkpoint) is not None:
        return f"interrupted; the last checkpoint is saved. {resume}"
    if files.config.is_file():
        return f"interrupted before the first checkpoint; the run starts from its first step. {resume}"
    return f"interrupted before training began; nothing was saved. Start again with: sketch train --run-dir {run_dir}"


_signals_received: list[int] = []  # every SIGINT/SIGTERM our handlers took, in order


def _interrupt_on(*signals) -> None:
    """Ctrl-C or a scheduler's SIGTERM stops training cleanly (the last finished epoch is kept),
    even when the shell started us with SIGINT ignored, as it does for background jobs."""

    def interrupt(number, frame):
        _signals_received.append(number)
        raise Stop(number)

    for number in signals:
        signal.signal(number, interrupt)


def _show_train_start(start) -> None:
    ui.note(start.device)
    ui.note(
        f"{len(start.config.data.labels)} categories; train {start.sizes['train']:,}, "
        f"valid {start.sizes['valid']:,} drawings; augmentation {'on' if start.config.train.augment else 'off'}"
    )
    ui.note(_budget(start.config.train))


def _budget(train: TrainConfig) -> str:
    """The start line that says how long the run may take, and how to bound it."""
    if train.max_minutes is not None:
        end = time.strftime("%H:%M", time.localtime(time.time() + train.max_minutes * 60))
        return f"budget {train.max_minutes:g} min (--max-minutes): ends by about {end}, then validates and saves"
    return (
        f"no time budget: up to {train.epochs} epochs, or {train.patience} without a better valid accuracy; "
        "each epoch says the time left (--max-minutes sets a budget)"
    )


def _show_epoch(report) -> None:
    left = f"{int(report.seconds_left // 60)}m{int(report.seconds_left % 60):02d}s left"
    ui.note(
        f"epoch {report.epoch:>3}/{report.epochs}  loss {report.loss:.3f}  acc {report.accuracy:6.1%}  "
        f"valid {report.val_accuracy:6.1%} (best {report.best_val_accuracy:.1%})  "
        f"lr {report.learning_rate:.1e}  {report.drawings_per_second:,.0f} drawings/s  {left}"
    )


run_dir_argument = click.argument("run_dir", type=click.Path(path_type=Path))


@main.command()
@run_dir_argument
@data_dir_option
@click.option(
    "--split",
    type=click.Choice(SCORED_SPLITS),
    default=SCORED_SPLITS[0],
    show_default=True,
    help="Which split of the run's dataset to score (test: drawings no choice was made on).",
)
@click.option(
    "--data",
    "data_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Score on these ndjson or Kaggle CSV files or folders instead (labels from each drawing's word).",
)
@click.option(
    "--backend",
    type=click.Choice(ENGINE_CHOICES),
    default=ENGINE_CHOICES[0],
    show_default=True,
    help="auto: TensorFlow in batches where it is installed, else Keras (on JAX), else LiteRT.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON object to FILE.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML report to FILE: per-category bars, confusion matrix, training curves, wrong drawings.",
)
def evaluate(run_dir, data_dir, split, data_paths, backend, as_json, out, report_path):
    """Score a trained run: top-1, top-3, MAP@3, per category, confusions, baselines."""
    from .. import api

    data = list(data_paths) or None
    report = api.evaluate(run_dir, data, data_dir=data_dir, split=split, backend=backend, report=report_path)
    if backend == "auto" and (note := unusual_engine(run_dir, str(report["backend"]))):
        ui.note(note)
    if out:
        from ..artifacts import atomic_write_text

        atomic_write_text(out, json.dumps(report, indent=1) + "\n")
    if report_path:
        ui.note(f"report written to {report_path}")
    if as_json:
        click.echo(json.dumps(report))
        return
    _show_report(run_dir, report)


def _show_report(run_dir, report: dict) -> None:
    pct = _percent
    rows = [
        ["drawings", f"{report['count']:,}"],
        ["top-1", pct(report["top1"])],
        ["top-3", pct(report["top3"])],
        ["MAP@3", _decimal(report["map3"])],
        ["calibration error (ECE)", _ece(report)],
        ["negative log-likelihood", _decimal(report.get("nll"))],
        ["baseline: chance", pct(report["baseline_chance"])],
        ["baseline: most common category", pct(report["baseline_majority"])],
    ]
    ui.note(f"{run_dir} scored on {report['source']} with {report['backend']}")
    ui.out.print(ui.table(None, ["metric", "value"], rows))
    per_class = sorted(report["per_class"].items(), key=lambda item: item[1]["accuracy"])
    ui.out.print(
        ui.table(
            "Per category (worst first)",
            ["category", "accuracy", "drawings"],
            [[name, pct(v["accuracy"]), v["count"]] for name, v in per_class],
        )
    )
    if report["confused"]:
        ui.out.print(
            ui.table(
                "Most confused",
                ["true", "predicted as", "drawings"],
                [[c["true"], c["predicted"], c["count"]] for c in report["confused"]],
            )
        )
    ui.warn_some(
        [
            f"{count} drawing(s) of {name!r}, a category this model does not know, were not scored"
            for name, count in report.get("unknown_categories", {}).items()
        ],
        "unknown categories",
    )
    if report.get("unlabelled"):
        ui.warn(f"{report['unlabelled']} drawing(s) without a 'word' were not scored")
    ui.warn_some([f"skipped {line}" for line in report.get("skipped_examples", [])], "lines skipped")


@main.command("evaluate-all")
@click.argument(
    "runs_root", type=click.Path(file_okay=False, path_type=Path), default=Path("runs")
)  # artifacts.RUNS_ROOT
@data_dir_option
@click.option(
    "--split",
    type=click.Choice(SCORED_SPLITS),
    default=SCORED_SPLITS[0],
    show_default=True,
    help="Which split of the run's dataset to score (test: drawings no choice was made on).",
)
def evaluate_all(runs_root, data_dir, split):
    """Evaluate every run under RUNS_ROOT and print one comparison table."""
    from ..use.evaluate import evaluate_all as score_every_run

    scores, failed = score_every_run(runs_root, data_dir, split)
    for run, reason in failed:
        ui.warn(f"{run}: {reason}")
    rows = [
        [
            s.run.name,
            s.arch,
            _percent(s.report["top1"]),
            _percent(s.report["top3"]),
            _decimal(s.report["map3"]),
            f"{s.parameters:,}" if s.parameters is not None else "?",
        ]
        for s in scores
    ]
    ui.out.print(
        ui.table(
            f"Runs under {runs_root} on the {split} split",
            ["run", "architecture", "top-1", "top-3", "MAP@3", "parameters"],
            rows,
        )
    )
    if failed:
        names = ", ".join(run.name for run, _ in failed)
        raise click.ClickException(
            f"{len(failed)} of {len(scores) + len(failed)} run(s) could not be evaluated: {names}"
        )


def _ece(report: dict) -> str:
    """The ECE with its 95% bootstrap interval."""
    if report.get("ece") is None:
        return "n/a"
    low, high = report.get("ece_interval") or (None, None)
    return f"{report['ece']:.4f}" + (f" (95%: {low:.4f} to {high:.4f})" if low is not None else "")


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _decimal(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "--model",
    "run_dir",
    type=click.Path(path_type=Path),
    envvar="SKETCH_MODEL",
    show_envvar=True,
    help="Run folder [default: the newest under runs/].",
)
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True, help="How many guesses per drawing.")
@click.option(
    "--backend",
    type=click.Choice(ENGINE_CHOICES),
    default=ENGINE_CHOICES[0],
    envvar="SKETCH_BACKEND",
    show_default=True,
    show_envvar=True,
    help="auto: LiteRT when the run has model.tflite, else TensorFlow, else Keras (on JAX).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per drawing.")
@click.option("--show", is_flag=True, help="Draw each sketch in the terminal beside its predictions.")
@click.option("--progressive", is_flag=True, help="The top guess after each stroke, as in the game.")
def predict(inputs, run_dir, top_k, backend, as_json, show, progressive):
    """Classify the drawings in ndjson or Kaggle CSV files (or '-' for ndjson on standard input).

    Each line of an ndjson file is one drawing: a JSON object whose "drawing" lists its strokes,
    each stroke its xs, then its ys (raw drawings add their times):

    \b
      {"word": "cat", "drawing": [[[10, 60, 110], [80, 20, 80]], [[30, 90], [60, 60]]]}

    "word" is optional (with it, --progressive says when the right answer first appears).
    sketch draw saves drawings in this form; images are not read.
    """
    from .. import api
    from ..artifacts import newest_run
    from ..data.reader import Skipped
    from ..use.predict import CHUNK, is_live, read_inputs

    run_dir = run_dir or newest_run()
    model = api.load(run_dir, backend)
    if backend == "auto" and (note := unusual_engine(run_dir, model.backend)):
        ui.note(note)
    records = read_inputs(list(inputs), model.config.data.max_length)
    chunk = 1 if any(is_live(path) for path in inputs) else CHUNK
    problems = predicted = 0
    for result in model.stream(records, top_k, progressive, chunk):
        if isinstance(result, Skipped):
            problems += 1
            ui.err.print(ui.printable(f"error: {result}"), markup=False, soft_wrap=True)
            continue
        predicted += 1
        if as_json:
            click.echo(json.dumps(result.as_json()))
        else:
            _show_prediction(result, show, model.labels, run_dir)
        sys.stdout.flush()
    if not predicted and not problems:
        raise click.ClickException(f"no drawings in {', '.join(inputs)}")
    if problems:
        raise SystemExit(1)


@main.command()
@click.option(
    "--model",
    "run_dir",
    type=click.Path(path_type=Path),
    envvar="SKETCH_MODEL",
    show_envvar=True,
    help="Run folder [default: the newest under runs/].",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; others expose the page to your network.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@click.option(
    "--save-to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("my_drawings.ndjson"),
    show_default=True,
    help="Saved drawings are appended here (Quick, Draw! raw ndjson).",
)
def draw(run_dir, host, port, no_browser, save_to):
    """Draw in your browser while the model guesses; save drawings to train on."""
    from ..artifacts import newest_run
    from ..use.draw import EVERY_INTERFACE, is_loopback, make_server, open_app, url_of

    run_dir = run_dir or newest_run()
    app = open_app(run_dir, save_to)
    if note := unusual_engine(run_dir, app.guesser.predictor.name):
        ui.note(note)
    server = make_server(app, host, port)
    url = url_of(server, host)
    if not is_loopback(host):
        where = "every interface" if host in EVERY_INTERFACE else host
        ui.warn(f"listening on {where}: anyone who can reach it can use the model (saving needs the page's token)")
    click.echo(url)
    sys.stdout.flush()
    ui.note(f"drawing with {run_dir}; saving to {save_to}. Stop with Ctrl-C.")
    if not no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt as stop:  # how the banner says to stop it: not an error
        ui.note(f"stopped; drawings saved are in {save_to}" if save_to.exists() else "stopped")
        raise SystemExit(128 + getattr(stop, "signal_number", signal.SIGINT)) from None
    finally:
        server.server_close()


def _show_prediction(result, show: bool, labels: tuple[str, ...], run_dir: Path) -> None:
    from rich.columns import Columns
    from rich.text import Text

    drawing = result.drawing
    title = f"{drawing.source}:{drawing.line}" + (f" (key_id {drawing.key_id})" if drawing.key_id else "")
    ui.out.print(ui.printable(title), markup=False, soft_wrap=True, style="bold")
    rows = [[rank, label, shown_probability(p)] for rank, (label, p) in enumerate(result.top_k, start=1)]
    table = ui.table(None, ["#", "category", "probability"], rows)
    if not show:
        ui.out.print(table)
    else:
        from .render import braille

        ui.out.print(Columns([Text("\n".join(braille(drawing.sequence))), table]))
    if result.unsure:
        ui.out.print(f"  not sure what that is: {_what_it_knows(labels, run_dir)}", markup=False, soft_wrap=True)
    if drawing.word and drawing.word not in labels:
        ui.out.print(ui.printable(f"  {drawing.word} is not a category this model knows"), markup=False)
    if result.by_stroke:
        right = result.first_right_stroke()
        guesses = ", ".join(f"{n}: {label} {shown_probability(p)}" for n, label, p in result.by_stroke)
        ui.out.print(f"  after each stroke: {guesses}", markup=False, soft_wrap=True)
        if drawing.word in labels:
            when = f"after stroke {right}" if right else "never"
            ui.out.print(ui.printable(f"  the right answer ({drawing.word}) first appears {when}"), markup=False)


def _what_it_knows(labels: tuple[str, ...], run_dir: Path) -> str:
    """The categories a model knows, named when they are few, else counted with where to look."""
    if len(labels) <= 20:
        return f"this model knows {len(labels)} categories: {', '.join(labels)}"
    return f"this model knows {len(labels)} categories, listed in {Path(run_dir) / 'labels.txt'}"


@main.command()
@run_dir_argument
@click.option(
    "--format",
    "format_",
    type=click.Choice(EXPORT_FORMATS),
    default="tflite",
    show_default=True,
    help="onnx: model.onnx for onnxruntime; web: the draw page as a static site that guesses in the browser "
    '(both: pip install "sketchrnn-cli[onnx]").',
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write into.")
def export(run_dir, format_, out):
    """Export a trained run for serving (TF Serving, onnxruntime), phones (LiteRT) or any web server (web), labels beside it."""
    from .. import api

    require(*TRAIN_MODULES)
    if format_ == "web":
        from ..use import web_runtime

        cache = web_runtime.default_cache()
        if not web_runtime.fetched(cache):
            ui.note(
                f"fetching onnxruntime-web {web_runtime.VERSION} from {web_runtime.registry()} once (35 MB; its 15 MB kept in {cache})"
            )
    target = api.export(run_dir, out, format_)
    if format_ == "web":
        ui.note(f"wrote the site {out}: its page {target.name}, model.onnx, config.json, labels.txt and the runtime")
        ui.note(
            f"try it: python -m http.server -d {out} 8000, then open http://localhost:8000/ (any static host serves it)"
        )
    else:
        ui.note(f"wrote {target}, {out / 'config.json'} and {out / 'labels.txt'}")


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(data_dir, as_json):
    """Versions, the devices TensorFlow sees, the datasets in the data folder and the runs under runs/."""
    from .about import report as about

    report, damaged = about(data_dir)
    for message in damaged:
        ui.warn(message)
    if as_json:
        click.echo(json.dumps(report))
    else:
        _show_info(report, data_dir)
    if damaged:
        raise SystemExit(1)


def _show_info(report: dict, data_dir: Path) -> None:
    devices = report["devices"]
    gpus = f"{len(devices['gpus'])} GPU(s): {', '.join(devices['gpus'])}" if devices["gpus"] else "CPU only"
    from .about import DISTRIBUTIONS

    rows = [[key, report[key]] for key in ("sketchrnn_cli", "python", *DISTRIBUTIONS)]
    rows += [["devices", gpus], ["data folder", data_dir]]
    for fmt, summary in report["datasets"].items():
        rows.append([f"dataset ({fmt})", summary])
    if not report["datasets"]:
        rows.append(["datasets", "none yet (run sketch download)"])
    for run, summary in report["runs"].items():
        rows.append([f"run {run}", summary])
    if not report["runs"]:
        rows.append(["runs", "none yet under runs/ (run sketch train)"])
    ui.out.print(ui.table(None, ["", ""], rows, justify_numbers=False))


if __name__ == "__main__":
    sys.exit(main())

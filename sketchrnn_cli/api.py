"""The public Python API: what ``import sketchrnn_cli as sketch`` offers, and what the `sketch`
command itself is built on. Library calls print nothing and never exit: progress reaches the
caller through callbacks, errors a user can fix are ``SketchError`` (one line naming what and
where), and Ctrl-C is a ``KeyboardInterrupt`` the caller may catch.

Classify drawings with a trained run (or an export folder):

    >>> import sketchrnn_cli as sketch
    >>> model = sketch.load(run)
    >>> result = model.predict([[[0, 80, 160], [0, 90, 10]]])[0]   # one drawing: one stroke
    >>> result.label in model.labels and 0 < result.probability <= 1
    True

TensorFlow, Keras and JAX are imported only by the calls that need them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .artifacts import RunFiles
from .config import DataConfig, ModelConfig, RunConfig, TrainConfig  # noqa: F401  (DataConfig: re-exported)
from .data.collect import CollectOptions  # noqa: F401  (re-exported by the package)
from .data.download import DownloadRequest, DownloadSummary
from .data.reader import Drawing, Skipped
from .data.sources import Network  # noqa: F401  (re-exported by the package)
from .errors import SketchError
from .model.inference import Predictor, open_predictor
from .model.model_io import EXPORT_FORMATS, WEB_FORMAT
from .use.drawings import DrawingLike, as_drawings
from .use.predict import CHUNK, Prediction, classify_stream, predict

if TYPE_CHECKING:
    from .data.disk import DiskPlan
    from .model.train import EpochReport, TrainResult

# The public names are those sketchrnn_cli/__init__.py re-exports (its __all__).


class Classifier:
    """A trained model, ready to classify: a run folder's, or an export folder's (tflite,
    saved_model, onnx), on the engine ``sketch predict --backend`` would pick.

        >>> model = sketch.load(run)
        >>> model.labels
        ('circle', 'zigzag', 'square')
        >>> model.probabilities([[[0, 80, 160], [0, 90, 10]]]).shape
        (1, 3)
    """

    def __init__(self, path: Path, config: RunConfig, engine: Predictor):
        self.path = Path(path)
        self.config = config  # the RunConfig the model was rebuilt from (its config.json)
        self.engine = engine

    @property
    def labels(self) -> tuple[str, ...]:
        """The categories, in the order of the model's outputs."""
        return self.config.data.labels

    @property
    def backend(self) -> str:
        """The engine that runs the model: litert, tensorflow, keras or onnx."""
        return self.engine.name

    def __repr__(self) -> str:
        return f"<Classifier {self.path}: {len(self.labels)} categories on {self.backend}>"

    def predict(
        self, drawings: DrawingLike | Sequence[DrawingLike], top_k: int = 3, progressive: bool = False
    ) -> list[Prediction]:
        """One Prediction per drawing, in order, always a list (one drawing in: a list of one).
        Each has ``top_k``, the (label, probability) pairs most likely first, and ``drawing``,
        what was classified; with ``progressive``, ``by_stroke`` holds the top guess after each
        stroke, as in the game.

            >>> [p.label for p in model.predict(sketch_drawings)] == [d["word"] for d in sketch_drawings]
            True
            >>> model.predict(sketch_drawings[0], top_k=2)[0].top_k[1][0] in model.labels
            True
        """
        if top_k < 1:
            raise SketchError(f"top_k must be at least 1, got {top_k}")
        return predict(
            self.engine, self.labels, self._drawings(drawings), top_k, progressive, self.config.model.unsure_below
        )

    def probabilities(self, drawings: DrawingLike | Sequence[DrawingLike]) -> npt.NDArray[np.float32]:
        """float32 [drawings, categories], columns in ``labels`` order, rows summing to 1;
        batched by the engine (drawings of similar lengths together).

            >>> model.probabilities(sketch_drawings).sum(axis=1).round(3).tolist()
            [1.0, 1.0, 1.0]
        """
        parsed = self._drawings(drawings)
        if not parsed:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.engine.predict([drawing.sequence for drawing in parsed])

    def stream(
        self, records: Iterable[Drawing | Skipped], top_k: int = 3, progressive: bool = False, chunk: int = CHUNK
    ) -> Iterator[Prediction | Skipped]:
        """Predictions (and the Skipped records passed through) in input order, ``chunk``
        drawings at a time: any number of drawings in bounded memory, or a live input answered
        one by one with ``chunk=1``. What `sketch predict` runs.

            >>> from sketchrnn_cli.use.predict import read_inputs
            >>> records = read_inputs([str(sketch_file)], model.config.data.max_length)
            >>> [result.label for result in model.stream(records, chunk=2)]
            ['circle', 'zigzag', 'square']
        """
        return classify_stream(
            self.engine, self.labels, records, top_k, progressive, chunk, self.config.model.unsure_below
        )

    def evaluate(
        self,
        data: str | Path | Sequence[str | Path] | None = None,
        *,
        data_dir: str | Path = "data",
        split: str = "test",
        report: str | Path | None = None,
    ) -> dict[str, object]:
        """The scores `sketch evaluate --json` prints, with the same keys: on ``data`` (ndjson or
        Kaggle CSV files or folders, labelled by each drawing's word) or else on ``split`` of the
        dataset in ``data_dir`` the run was trained on. ``report``: also an HTML report there.

            >>> scores = model.evaluate(data=sketch_file)
            >>> scores["count"], scores["top1"]
            (3, 1.0)
        """
        from .use.evaluate import score_files, score_split, write_report

        if data is not None:
            paths = [Path(data)] if isinstance(data, (str, Path)) else [Path(p) for p in data]
            scored = score_files(self.config, self.engine, paths)
        else:
            scored = score_split(self.config, self.engine, Path(data_dir), split)
        if report is not None:
            write_report(self.path, scored, Path(report))
        return scored.report

    def export(self, out: str | Path, format: str = "tflite") -> Path:
        """The model as ``format`` (tflite, saved_model, onnx, or web: the draw page as a static
        site) in the folder ``out``, with its config and labels (the folder then loads like a
        run); returns the model file (the page for web). Needs the run's model.keras and
        TensorFlow. A folder holding another run's files is refused.

            >>> model.export(scratch / "phone").name
            'model.tflite'
            >>> sketch.load(scratch / "phone").labels == model.labels
            True
        """
        return export(self.path, out, format)

    def _drawings(self, drawings: DrawingLike | Sequence[DrawingLike]) -> list[Drawing]:
        return as_drawings(drawings, self.config.data.max_length)


def load(path: str | Path, backend: str = "auto") -> Classifier:
    """The trained model in a run folder or an export folder, on ``backend``: auto (what
    `sketch predict` picks: LiteRT for a model.tflite, else TensorFlow, Keras on JAX or
    onnxruntime, by what the folder holds and what is installed), litert, tensorflow, keras or
    onnx. SketchError names a missing or damaged file, or a model file of another run.

        >>> sketch.load(run, backend="litert").backend
        'litert'
    """
    config, engine = open_predictor(Path(path), backend)
    return Classifier(Path(path), config, engine)


def evaluate(
    run: str | Path,
    data: str | Path | Sequence[str | Path] | None = None,
    *,
    data_dir: str | Path = "data",
    split: str = "test",
    backend: str = "auto",
    report: str | Path | None = None,
) -> dict[str, object]:
    """`sketch evaluate`: a run scored on ``data`` or on ``split`` of its dataset, on the engine
    that command picks for batches (TensorFlow where installed); the keys of its --json.

        >>> sketch.evaluate(run, sketch_file)["map3"]
        1.0
    """
    config, engine = open_predictor(Path(run), backend, batched=True)
    return Classifier(Path(run), config, engine).evaluate(data, data_dir=data_dir, split=split, report=report)


def export(run: str | Path, out: str | Path, format: str = "tflite", *, cache: str | Path | None = None) -> Path:
    """`sketch export`: the run's model as ``format`` in ``out`` with its config and labels;
    returns the model file (a folder for saved_model). ``format="web"`` writes the draw page
    as a static site that guesses in the browser (model.onnx on onnxruntime-web, fetched once
    from the npm registry into ``cache``, by default ~/.cache/sketchrnn_cli or $SKETCH_CACHE)
    and returns its index.html. Nothing already in ``out`` that is not this run's is ever
    replaced: such a folder is refused.

        >>> sketch.export(run, scratch / "serving", "saved_model").name
        'saved_model'
    """
    from .errors import require

    if format not in EXPORT_FORMATS:
        raise SketchError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    require("tensorflow")
    if format == WEB_FORMAT:
        from .use.web_export import export_site
        from .use.web_runtime import default_cache

        require("tf2onnx", "onnx")
        return export_site(RunFiles(Path(run)), Path(out), Path(cache) if cache else default_cache())
    from .model.model_io import export_run

    return export_run(RunFiles(Path(run)), format, Path(out))


def download(
    request: DownloadRequest,
    *,
    on_category: Callable[[str, int, int, int], None] | None = None,
    on_file: Callable[[str, int, int | None], None] | None = None,
    on_plan: Callable[[DiskPlan], None] | None = None,
) -> DownloadSummary:
    """`sketch download`: fetch the request's categories (or your own drawings), convert them
    on ``request.workers`` processes and publish the data folder's dataset whole. Callbacks:
    ``on_category(name, done, count, drawings)`` as each category finishes, ``on_file(name,
    bytes_done, bytes_total)`` while a file is read, ``on_plan(plan)`` with what it will fetch
    and store, before anything is written.

        >>> request = sketch.DownloadRequest(("circle", "square"), new_folder, source=bucket)
        >>> sketch.download(request).converted.counts()["circle"]["train"] > 0
        True
    """
    import dataclasses

    from .data.download import download as run_download

    return run_download(
        dataclasses.replace(request, data_dir=Path(request.data_dir)),  # a str is taken too
        on_category or (lambda name, done, count, drawings: None),
        on_file or (lambda name, done, total: None),
        on_plan or (lambda plan: None),
    )


@dataclass(frozen=True)
class TrainStart:
    """What a training run starts with, for ``train``'s ``on_start``: the run folder, the
    config it trains (the labels chosen, the batch size decided), the device chosen and why,
    and the drawings of each split. See ``train``'s example."""

    run_dir: Path
    config: RunConfig
    device: str  # the device, precision and batch chosen, and why, in words
    sizes: dict[str, int]  # drawings per split


def train(
    data_dir: str | Path = "data",
    *,
    config: RunConfig | None = None,
    model: ModelConfig | None = None,
    training: TrainConfig | None = None,
    categories: str | Sequence[str] = "",
    format: str | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    init_from: str | Path | None = None,
    device: str = "auto",
    on_note: Callable[[str], None] | None = None,
    on_start: Callable[[TrainStart], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    stop_asked: Callable[[], bool] | None = None,
) -> TrainResult:
    """`sketch train`: a model trained on the dataset in ``data_dir``, written to a run folder
    (``run_dir``, or a new one under runs/). ``config``: a run's config.json (RunConfig), to
    train that run again: its model, training options and categories. Otherwise ``model``
    and ``training`` (the defaults when None) and ``categories`` (all of the dataset's when
    empty). Needs TensorFlow, or Keras on JAX with KERAS_BACKEND=jax set before the first
    Keras import. Callbacks: ``on_note(line)`` (notes, such as a resumed run's build that is
    gone, or the wait for other processes), ``on_start(TrainStart)``, ``on_epoch(EpochReport)``;
    ``stop_asked()`` is read after every step: True stops the run as Ctrl-C would (a
    KeyboardInterrupt, the last checkpoint kept).

        >>> starts = []
        >>> result = sketch.train(data_dir, model=tiny, training=sketch.TrainConfig(epochs=1, batch_size=16),
        ...                       run_dir=scratch / "run", on_start=starts.append)
        >>> result.epochs_run, sketch.load(result.run_dir).labels, starts[0].sizes["train"] > 0
        (1, ('circle', 'zigzag', 'square'), True)
    """
    from .model.train import TrainRequest, prepare
    from .model.train import train as run_training

    if config is not None:
        model, training = config.model, config.train
        categories = categories or ",".join(config.data.labels)
        format = format or config.data.format
    names = categories if isinstance(categories, str) else ",".join(categories)
    request = TrainRequest(
        data_dir=Path(data_dir),
        model=model or ModelConfig(),
        train=training or TrainConfig(),
        format=format,
        categories=names,
        run_dir=Path(run_dir) if run_dir is not None else None,
        resume=resume,
        init_from=Path(init_from) if init_from is not None else None,
        device=device,
    )
    note = on_note or (lambda text: None)
    prepared = prepare(request)
    for line in prepared.notes:
        note(line)
    started = on_start or (lambda start: None)
    asked = stop_asked or (lambda: False)
    with _ctrl_c_kept() as ctrl_c:
        return run_training(
            prepared.config,
            prepared.dataset,
            prepared.run_dir,
            device=device,
            resume=resume,
            on_start=lambda reason, config, sizes: started(TrainStart(prepared.run_dir, config, reason, sizes)),
            on_epoch=on_epoch or (lambda report: None),
            stop_asked=lambda: ctrl_c() or asked(),
            on_note=note,
        )


@contextlib.contextmanager
def _ctrl_c_kept() -> Iterator[Callable[[], bool]]:
    """Ctrl-C during training reaches the caller as KeyboardInterrupt even where Python would
    drop it (raised inside a finaliser it is printed and lost, and training went on): the
    signal is also recorded, read after every step and when training ends, and an error a
    library made of it is the interrupt again. Only where Python's own handler is in place, in
    the main thread: a caller's own handler is left alone."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: False
        return

    def interrupt(number: int, frame: object) -> None:
        received.append(number)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    try:
        yield lambda: bool(received)
    except Exception:
        if received:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt

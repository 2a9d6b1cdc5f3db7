"""The `sketch evaluate` workflow: a run scored on a split of its dataset or on ndjson files."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import metrics
from ..config import RunConfig
from ..data import datastore, flat
from ..data.reader import Skipped, read_file
from ..errors import SketchError
from ..model.inference import Predictor, open_predictor


@dataclass(frozen=True)
class Scored:
    report: dict  # metrics.report(...) plus the fields below
    seconds: float
    names: tuple[str, ...] = ()
    labels: np.ndarray | None = None  # what was scored, for the HTML report
    probabilities: np.ndarray | None = None
    sequences: list = field(default_factory=list)


def evaluate_split(run_dir: Path, data_dir: Path, split: str, backend: str = "auto") -> Scored:
    """Scores the run on ``split`` of the dataset it was trained on (its flat arrays: no
    TensorFlow needed to read them; a build older than those is read through TFDS)."""
    return score_split(*open_predictor(run_dir, backend, batched=True), data_dir, split)


def score_split(config: RunConfig, model: Predictor, data_dir: Path, split: str) -> Scored:
    """evaluate_split with an engine already open."""
    from ..data.datastore import dataset_dir

    path = dataset_dir(data_dir, config.data.format)
    if path is None:
        raise SketchError(f"no {config.data.format} dataset in {data_dir}; run sketch download first")
    with datastore.reading(path):
        read = split_from_flat_arrays if flat.has_flat(path) else split_from_tfds
        sequences, labels = read(path, split, config.data.labels, config.data.max_length)
    return _score(model, sequences, labels, config.data.labels, {"source": f"{path} ({split})", "backend": model.name})


@dataclass(frozen=True)
class RunScore:
    run: Path
    arch: str
    parameters: int | None
    report: dict


def evaluate_all(runs_root: Path, data_dir: Path, split: str) -> tuple[list[RunScore], list[tuple[Path, str]]]:
    """Every trained run under ``runs_root`` scored on ``split``: (scores, (run, why not) for
    each run that could not be scored); one damaged run never hides the others."""
    from ..artifacts import RunError, RunFiles, read_config, read_json, trained_runs

    runs = trained_runs(runs_root) if Path(runs_root).is_dir() else []
    if not runs:
        raise RunError(f"no trained runs under {runs_root}")
    scores, failed = [], []
    for run in runs:
        try:
            report = evaluate_split(run, data_dir, split).report
            files = RunFiles(run)
            summary = read_json(files.summary) if files.summary.is_file() else {}
            parameters = summary.get("parameters") if isinstance(summary, dict) else None
            scores.append(
                RunScore(
                    run, read_config(files).model.arch, parameters if isinstance(parameters, int) else None, report
                )
            )
        except (SketchError, OSError) as error:
            failed.append((run, str(error)))
    return scores, failed


def split_from_flat_arrays(path: Path, split: str, labels: tuple[str, ...], max_length: int):
    from ..data.datastore import dataset_info

    drawings = flat.FlatSplit.open(path, split, dataset_info(path).labels, labels)
    return drawings.sequences(range(len(drawings)), max_length), drawings.labels.astype(np.int64)


def split_from_tfds(path: Path, split: str, labels: tuple[str, ...], max_length: int):
    from ..model.tfdata import load_split

    pairs = list(load_split(path, split, labels).as_numpy_iterator())
    return [inputs["strokes"][:max_length] for inputs, _ in pairs], np.array([y for _, y in pairs], dtype=np.int64)


def evaluate_files(run_dir: Path, paths: list[Path], backend: str = "auto") -> Scored:
    """Scores the run on ndjson or Kaggle CSV files, or folders of them; labels come from each
    drawing's word."""
    return score_files(*open_predictor(run_dir, backend, batched=True), paths)


def score_files(config: RunConfig, model: Predictor, paths: list[Path]) -> Scored:
    """evaluate_files with an engine already open."""
    index = {name: i for i, name in enumerate(config.data.labels)}
    sequences, labels = [], []
    unknown: Counter[str] = Counter()
    unlabelled, skipped = 0, []
    for path in _drawing_files(paths):
        with path.open("rb") as handle:
            for record in read_file(handle, str(path), config.data.max_length):
                if isinstance(record, Skipped):
                    skipped.append(str(record))
                elif record.word is None:
                    unlabelled += 1
                elif record.word not in index:
                    unknown[record.word] += 1
                else:
                    sequences.append(record.sequence)
                    labels.append(index[record.word])
    extra = {
        "source": ", ".join(str(p) for p in paths),
        "backend": model.name,
        "unknown_categories": dict(unknown),
        "unlabelled": unlabelled,
        "skipped": len(skipped),
        "skipped_examples": skipped[:20],
    }
    return _score(model, sequences, np.array(labels, dtype=np.int64), config.data.labels, extra)


def _score(model, sequences: list, labels: np.ndarray, names: tuple[str, ...], extra: dict) -> Scored:
    started = time.perf_counter()
    probabilities = model.predict(sequences) if sequences else np.zeros((0, len(names)), dtype=np.float32)
    seconds = time.perf_counter() - started
    report = metrics.report(probabilities, labels, list(names))
    report.update(extra, drawings_per_second=len(sequences) / seconds if seconds > 0 else None)
    return Scored(report, seconds, tuple(names), labels, probabilities, sequences)


def _drawing_files(paths: list[Path]) -> list[Path]:
    """ndjson and Kaggle CSV files, regular ones only: a FIFO or device would block or never end."""
    files = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in (".ndjson", ".csv") and p.is_file())
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise SketchError(f"{path}: not a regular file (a pipe or device cannot be scored)")
        else:
            raise SketchError(f"{path}: no such file or folder")
    if not files:
        raise SketchError(f"no .ndjson or .csv files in {', '.join(map(str, paths))}")
    return files


def write_report(run_dir: Path, scored: Scored, path: Path) -> None:
    """The HTML report of a scoring, with the run's training history."""
    from ..artifacts import RunError, RunFiles, atomic_write_text, read_json
    from .report import ReportData, render

    try:
        history = read_json(RunFiles(Path(run_dir)).history)
    except RunError:
        history = []  # no or a damaged history leaves the curves out, not the report
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        history = []
    if scored.labels is None or scored.probabilities is None:
        raise SketchError("nothing was scored, so there is no report to write")
    data = ReportData(
        Path(run_dir).name,
        scored.report,
        scored.names,
        scored.labels,
        scored.probabilities,
        scored.sequences,
        history,
        _about(Path(run_dir)),
    )
    atomic_write_text(path, render(data))


def _about(run_dir: Path) -> str:
    """The model in one line: architecture, size, parameters, training time, for the report."""
    from ..artifacts import RunError, RunFiles, read_config, read_json

    files = RunFiles(run_dir)
    try:
        model = read_config(files).model
    except RunError:
        return ""
    parts = [f"{model.arch}, size {model.size}"]
    try:
        summary = read_json(files.summary) if files.summary.is_file() else {}
    except RunError:
        summary = {}
    if not isinstance(summary, dict):
        summary = {}
    if isinstance(summary.get("parameters"), int):
        parts.append(f"{summary['parameters']:,} parameters")
    if isinstance(summary.get("seconds"), (int, float)) and isinstance(summary.get("epochs_run"), int):
        parts.append(f"trained {summary['epochs_run']} epochs in {summary['seconds'] / 60:.1f} min")
    if isinstance(summary.get("device"), str):
        parts.append(summary["device"].split(" (")[0])
    parts.append(f"temperature {model.temperature:g}")
    return "; ".join(parts)

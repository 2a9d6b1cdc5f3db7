"""`sketch info`: versions, the devices TensorFlow sees, and the datasets of a data folder.
No TensorFlow import unless it is installed (devices.describe asks it then)."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..data.datastore import built_datasets, dataset_info
from ..data.splits import SPLITS
from ..errors import SketchError

DISTRIBUTIONS = ("tensorflow", "keras", "jax", "tensorflow-datasets", "ai-edge-litert", "onnxruntime")


def report(data_dir: Path) -> tuple[dict, list[str]]:
    """(the report, a message for each damaged dataset); the report says "damaged" for those."""
    from ..model.devices import describe

    damaged: list[str] = []
    summary = {
        "sketchrnn_cli": __version__,
        "python": platform.python_version(),
        **{name: version(name) for name in DISTRIBUTIONS},
        "devices": describe(),
        "data_dir": str(data_dir),
        "datasets": {fmt: _dataset_summary(path, damaged) for fmt, path in built_datasets(data_dir).items()},
        "runs": _runs(),
    }
    return summary, damaged


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _dataset_summary(path: Path, damaged: list[str]) -> str:
    """One line about a dataset; a damaged one says so (and is added to ``damaged``)."""
    try:
        info = dataset_info(path)
    except SketchError as error:
        damaged.append(str(error))
        return f"damaged; run sketch download again ({path})"
    counts = ", ".join(f"{split} {info.count(split)}" for split in SPLITS)
    return f"{len(info.labels)} categories; {counts}; {path}"


def _runs() -> dict[str, str]:
    """Every trained run under runs/: its categories and architecture, or why it cannot be read."""
    from ..artifacts import RUNS_ROOT, RunFiles, read_config, trained_runs

    found = {}
    for run in trained_runs(RUNS_ROOT) if RUNS_ROOT.is_dir() else []:
        try:
            config = read_config(RunFiles(run))
        except SketchError as error:
            found[str(run)] = f"damaged ({error})"
            continue
        found[str(run)] = f"{len(config.data.labels)} categories; {config.model.arch}, size {config.model.size}"
    return found

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

DISTRIBUTIONS = ("tensorflow", "keras", "tensorflow-datasets", "ai-edge-litert")


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

"""sketch: classify Quick, Draw! sketches from their strokes.

The package by stage; imports flow one way, downwards (tests/test_cli.py checks it):

    cli/      the `sketch` command: parse options, call the API, render
    api.py    the public Python API, re-exported here (import sketchrnn_cli as sketch)
    use/      what a trained model is for: predict, evaluate, report, the draw page
    model/    the model, its input pipeline, training, devices, export, the engines
    data/     download, parse, convert: a data folder's published builds
    config.py, errors.py, artifacts.py, metrics.py, provenance.py, backend.py
              the ground every stage stands on: the run's config, the one user-error type,
              the run folder, pure metrics, what a model file was made from, TensorFlow's
              quiet start-up

Each folder's __init__.py lists its modules.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, for type checkers and editors; at run time they load on first use
    from .api import (
        Classifier,
        CollectOptions,
        DataConfig,
        DownloadRequest,
        DownloadSummary,
        Drawing,
        ModelConfig,
        Network,
        Prediction,
        RunConfig,
        SketchError,
        TrainConfig,
        TrainStart,
        download,
        evaluate,
        export,
        load,
        train,
    )

__all__ = [
    "Classifier",
    "CollectOptions",
    "DataConfig",
    "DownloadRequest",
    "DownloadSummary",
    "Drawing",
    "ModelConfig",
    "Network",
    "Prediction",
    "RunConfig",
    "SketchError",
    "TrainConfig",
    "TrainStart",
    "download",
    "evaluate",
    "export",
    "load",
    "train",
]


def __getattr__(name: str) -> object:
    """The public API on first use: `import sketchrnn_cli` stays instant (no NumPy, TensorFlow,
    Keras or JAX), and `sketch --help` with it."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'sketchrnn_cli' has no attribute {name!r}")

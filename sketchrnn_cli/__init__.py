"""sketch: classify Quick, Draw! sketches from their strokes.

The package by stage; imports flow one way, downwards (tests/test_cli.py checks it):

    cli/      the `sketch` command: parse options, call the stages below, render
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

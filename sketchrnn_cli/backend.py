"""The Keras backend this process runs, and TensorFlow imported quietly: the ground every stage
that touches TensorFlow stands on (the data stage's TFDS builder too). Standard library only.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager


def import_tensorflow():
    """Imports TensorFlow with its start-up chatter silenced; returns the module.

    TensorFlow's C++ side writes INFO lines to file descriptor 2 before its log level
    is read, so they are silenced at the descriptor. TF_CPP_MIN_LOG_LEVEL=0 shows them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet = os.environ["TF_CPP_MIN_LOG_LEVEL"] >= "2" and "tensorflow" not in sys.modules
    with silenced_stderr() if quiet else _unchanged():
        import absl.logging
        import tensorflow as tf

        tf.config.list_physical_devices()  # loads the device plugins, which log too
    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    return tf


@contextmanager
def silenced_stderr():
    """Silences file descriptor 2, where C++ libraries log around Python's back."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def _unchanged():
    yield


KERAS_BACKENDS = ("tensorflow", "jax")  # what `sketch train --keras-backend` runs Keras on


def keras_backend() -> str:
    """The Keras backend this process runs (KERAS_BACKEND, as Keras itself reads it)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")

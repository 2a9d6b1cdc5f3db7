"""TensorFlow start-up: quiet logs, what devices exist, and which strategy to train with."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import SketchError


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


@dataclass(frozen=True)
class DeviceChoice:
    kind: str  # "gpu" or "cpu"
    replicas: int
    mixed_precision: bool
    reason: str  # one line for the user


def choose_device(requested: str, gpus: list, cpus: list, compute_capabilities: list[tuple[int, int]]) -> DeviceChoice:
    """Pure decision: requested auto|cpu|gpu and what TensorFlow sees -> what to use and why."""
    if requested not in ("auto", "cpu", "gpu"):
        raise SketchError(f"unknown device {requested!r}; choose auto, cpu or gpu")
    if requested == "gpu" and not gpus:
        raise SketchError("--device gpu was asked for, but TensorFlow sees no GPU")
    if requested == "cpu" or not gpus:
        why = "asked for with --device cpu" if requested == "cpu" else "TensorFlow sees no GPU"
        replicas = max(1, len(cpus))
        return DeviceChoice("cpu", replicas, False, f"training on CPU ({why})")
    # float16 tensor cores pay off from compute capability 7.0 (Volta) on.
    mixed = bool(compute_capabilities) and min(compute_capabilities) >= (7, 0)
    precision = "mixed precision" if mixed else "float32 (GPU older than compute capability 7.0)"
    return DeviceChoice(
        "gpu", len(gpus), mixed, f"training on {len(gpus)} GPU(s) with {precision} (TensorFlow sees a GPU)"
    )


def resolve_device(requested: str) -> tuple[DeviceChoice, object]:
    """Chooses the device and builds its tf.distribute strategy."""
    tf = import_tensorflow()
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(device).get("compute_capability")
        if capability:
            capabilities.append(tuple(capability))
    choice = choose_device(requested, gpus, cpus, capabilities)
    devices = gpus if choice.kind == "gpu" else cpus
    if len(devices) > 1:
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
    else:
        strategy = tf.distribute.OneDeviceStrategy(devices[0].name)
    return choice, strategy


def describe() -> dict:
    """What TensorFlow sees, for `sketch info` (the CPU count alone in a slim install)."""
    try:
        tf = import_tensorflow()
    except ModuleNotFoundError:
        return {"gpus": [], "cpus": os.cpu_count() or 1, "built_with_cuda": False}
    gpus = tf.config.list_physical_devices("GPU")
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return {
        "gpus": names,
        "cpus": len(tf.config.list_physical_devices("CPU")),
        "built_with_cuda": tf.test.is_built_with_cuda(),
    }

"""TensorFlow start-up: quiet logs, what devices exist, and which strategy to train with."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import SketchError, first_line


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


@dataclass(frozen=True)
class DeviceChoice:
    kind: str  # "gpu" or "cpu"
    replicas: int
    policy: str  # the Keras dtype policy: float32, mixed_float16 or mixed_bfloat16
    reason: str  # one line for the user

    @property
    def mixed_precision(self) -> bool:
        return self.policy != "float32"


def choose_device(
    requested: str, gpus: list, cpus: list, compute_capabilities: list[tuple[int, int]], seen_by: str = "TensorFlow"
) -> DeviceChoice:
    """Pure decision: requested auto|cpu|gpu and what the backend sees -> what to use and why."""
    if requested not in ("auto", "cpu", "gpu"):
        raise SketchError(f"unknown device {requested!r}; choose auto, cpu or gpu")
    if requested == "gpu" and not gpus:
        raise SketchError(f"--device gpu was asked for, but {seen_by} sees no GPU")
    if requested == "cpu" or not gpus:
        why = "asked for with --device cpu" if requested == "cpu" else f"{seen_by} sees no GPU"
        replicas = max(1, len(cpus))
        return DeviceChoice("cpu", replicas, "float32", f"training on CPU ({why})")
    # Tensor cores: bfloat16 from compute capability 8.0 (Ampere) on, float16 on 7.x (Volta, Turing).
    lowest = min(compute_capabilities) if compute_capabilities else (0, 0)
    policy = "mixed_bfloat16" if lowest >= (8, 0) else "mixed_float16" if lowest >= (7, 0) else "float32"
    precision = {"mixed_bfloat16": "mixed bfloat16", "mixed_float16": "mixed float16"}.get(
        policy, "float32 (GPU older than compute capability 7.0)"
    )
    capability = f", compute capability {lowest[0]}.{lowest[1]}" if compute_capabilities else ""
    return DeviceChoice(
        "gpu", len(gpus), policy, f"training on {len(gpus)} GPU(s) with {precision} ({seen_by} sees a GPU{capability})"
    )


# Keras's own names, which keras.distribution.initialize reads: the coordinator's host:port (or
# every process's, comma separated), how many processes, and this one's index.
PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


@dataclass(frozen=True)
class Processes:
    """Which of the processes training one model under JAX this one is."""

    index: int = 0
    count: int = 1


def jax_processes(environ) -> Processes:
    """Pure: the processes the KERAS_DISTRIBUTION_* variables of ``environ`` describe (one, where
    none is set); SketchError naming the variable that is wrong."""
    given = [name for name in PROCESS_VARIABLES if environ.get(name, "").strip()]
    if not given:
        return Processes()
    if len(given) < len(PROCESS_VARIABLES):
        missing = ", ".join(name for name in PROCESS_VARIABLES if name not in given)
        raise SketchError(f"training on several processes needs {missing} as well as {', '.join(given)}")
    numbers = {}
    for name in PROCESS_VARIABLES[1:]:
        value = environ[name].strip()
        if not value.isdigit():
            raise SketchError(f"{name} must be a whole number, got {value!r}")
        numbers[name] = int(value)
    count, index = numbers[PROCESS_VARIABLES[1]], numbers[PROCESS_VARIABLES[2]]
    if count < 1 or index >= count:
        raise SketchError(f"{PROCESS_VARIABLES[2]}={index} must be below {PROCESS_VARIABLES[1]}={count}")
    return Processes(index, count)


def join_jax_processes(environ=os.environ) -> Processes:
    """Joins this process to the others the KERAS_DISTRIBUTION_* variables name, before JAX
    uses any device: then jax.devices() lists every process's devices. CPUs reach each other
    through Gloo (JAX's CPU collectives), GPUs through NCCL."""
    processes = jax_processes(environ)
    if processes.count == 1:
        return processes
    import jax
    import keras

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        keras.distribution.initialize()
    except Exception as error:  # JAX's: a coordinator that never answered, a port taken
        raise SketchError(
            f"process {processes.index} of {processes.count} could not join the others at "
            f"{environ[PROCESS_VARIABLES[0]]} ({first_line(error)})"
        ) from None
    return processes


def resolve_jax_device(requested: str, processes: Processes = Processes()) -> DeviceChoice:
    """The device choice under Keras's JAX backend: every device of the chosen kind, of every
    process joined, data parallel (JAX_PLATFORMS=cpu forces the CPU;
    XLA_FLAGS=--xla_force_host_platform_device_count=N makes N CPU devices)."""
    import jax

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    capabilities = []
    for device in gpus:
        major, _, minor = str(getattr(device, "compute_capability", "")).partition(".")
        if major.isdigit() and minor.isdigit():
            capabilities.append((int(major), int(minor)))
    choice = choose_device(requested, gpus, jax.devices("cpu"), capabilities, seen_by="JAX")
    devices = gpus if choice.kind == "gpu" else jax.devices("cpu")
    if len(devices) == 1:
        return choice
    names = ", ".join(f"{d.platform}:{d.id}" for d in devices[:8]) + (", ..." if len(devices) > 8 else "")
    where = f" in {processes.count} processes, this one {processes.index}" if processes.count > 1 else ""
    return DeviceChoice(
        choice.kind,
        len(devices),
        choice.policy,
        f"{choice.reason}; data parallel over {len(devices)} devices{where} ({names})",
    )


def resolve_device(requested: str) -> tuple[DeviceChoice, Any]:
    """Chooses the device and builds its tf.distribute strategy: with TF_CONFIG set, a
    MultiWorkerMirroredStrategy over the machines it names."""
    tf = import_tensorflow()
    if os.environ.get("TF_CONFIG"):
        return _multi_worker(tf, requested)
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


def _multi_worker(tf, requested: str) -> tuple[DeviceChoice, object]:
    """Every worker of TF_CONFIG trains one replica per local GPU (or its CPU), in step."""
    import json

    try:
        cluster = json.loads(os.environ["TF_CONFIG"])
        workers = len(cluster["cluster"]["worker"])
    except (ValueError, KeyError, TypeError) as error:
        raise SketchError(f"TF_CONFIG is not a cluster description ({type(error).__name__}: {error})") from None
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before any other TensorFlow op
    gpus = tf.config.list_logical_devices("GPU")
    local = choose_device(requested, gpus, tf.config.list_logical_devices("CPU"), [])
    reason = (
        f"training on {workers} workers from TF_CONFIG, {strategy.num_replicas_in_sync} replicas in all "
        f"({local.reason.removeprefix('training on ')})"
    )
    return DeviceChoice(local.kind, strategy.num_replicas_in_sync, local.policy, reason), strategy


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

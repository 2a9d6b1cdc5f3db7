"""What devices exist and which strategy to train with; processes training in step under JAX."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backend import import_tensorflow
from ..errors import ExitNow, SketchError, first_line


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
# How long a process waits for the others to join, in seconds (JAX's own default, 300).
JOIN_TIMEOUT_VARIABLE = "SKETCH_JOIN_TIMEOUT"
DEFAULT_JOIN_SECONDS = 300


@dataclass(frozen=True)
class Processes:
    """Which of the processes training one model under JAX this one is."""

    index: int = 0
    count: int = 1
    coordinator: str = ""  # HOST:PORT of process 0
    join_seconds: int = DEFAULT_JOIN_SECONDS


def jax_processes(environ) -> Processes:
    """Pure: the processes the KERAS_DISTRIBUTION_* variables of ``environ`` describe (one, where
    none is set); SketchError naming the variable that is wrong."""
    given = [name for name in PROCESS_VARIABLES if environ.get(name, "").strip()]
    if not given:
        return Processes()
    if len(given) < len(PROCESS_VARIABLES):
        missing = ", ".join(name for name in PROCESS_VARIABLES if name not in given)
        raise SketchError(f"training on several processes needs {missing} as well as {', '.join(given)}")
    count, index, seconds = (
        _whole_number(environ, name, default)
        for name, default in (
            (PROCESS_VARIABLES[1], None),
            (PROCESS_VARIABLES[2], None),
            (JOIN_TIMEOUT_VARIABLE, DEFAULT_JOIN_SECONDS),
        )
    )
    if count < 1 or index >= count:
        raise SketchError(f"{PROCESS_VARIABLES[2]}={index} must be below {PROCESS_VARIABLES[1]}={count}")
    if seconds < 1:
        raise SketchError(f"{JOIN_TIMEOUT_VARIABLE} must be at least 1 (seconds), got {seconds}")
    addresses = [address.strip() for address in environ[PROCESS_VARIABLES[0]].split(",")]
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            raise SketchError(
                f"{PROCESS_VARIABLES[0]} must be HOST:PORT (or one per process, comma separated), got {address!r}"
            )
    if len(addresses) > 1 and len(addresses) != count:
        raise SketchError(
            f"{PROCESS_VARIABLES[0]} names {len(addresses)} processes, {PROCESS_VARIABLES[1]} says {count}"
        )
    return Processes(index, count, addresses[0], seconds)


def _whole_number(environ, name: str, default: int | None) -> int:
    value = environ.get(name, "").strip()
    if not value and default is not None:
        return default
    if not (value.isascii() and value.isdigit()):  # str.isdigit alone takes "²", which int() refuses
        raise SketchError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def join_jax_processes(environ=os.environ, on_wait: Callable[[str], None] = lambda text: None) -> Processes:
    """Joins this process to the others the KERAS_DISTRIBUTION_* variables name, before JAX
    uses any device: then jax.devices() lists every process's devices. CPUs reach each other
    through Gloo (JAX's CPU collectives), GPUs through NCCL. The wait is bounded (join_seconds)
    and said first; Ctrl-C or SIGTERM stop it (JAX's join blocks in C++, where Python's signal
    handlers cannot run, so it waits in a thread of its own)."""
    processes = jax_processes(environ)
    if processes.count == 1:
        return processes
    import threading

    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    where = f"process {processes.index} of {processes.count}"
    on_wait(
        f"waiting for the other {processes.count - 1} process(es) at {processes.coordinator} ({where}; "
        f"at most {processes.join_seconds} s, {JOIN_TIMEOUT_VARIABLE} to change)"
    )
    failed: list[BaseException] = []

    def join() -> None:
        try:  # JAX aborts the process when its own timeout passes: ours comes first
            jax.distributed.initialize(
                processes.coordinator,
                processes.count,
                processes.index,
                initialization_timeout=processes.join_seconds + 60,
            )
        except Exception as error:  # JAX's: a port taken, an address that does not resolve
            failed.append(error)

    joining = threading.Thread(target=join, name="join-processes", daemon=True)
    joining.start()
    deadline = time.monotonic() + processes.join_seconds
    try:
        while joining.is_alive() and time.monotonic() < deadline:
            joining.join(0.1)
    except KeyboardInterrupt as stop:  # JAX's shutdown at exit would wait for the join: end at once
        raise ExitNow(
            f"interrupted while {where} waited for the others; nothing was trained",
            128 + getattr(stop, "signal_number", 2),
        ) from None
    if joining.is_alive() or failed:
        why = f" ({first_line(failed[0])})" if failed else ""
        raise ExitNow(
            f"{where} could not join the others at {processes.coordinator} within {processes.join_seconds} s{why}; "
            f"start every process, or raise {JOIN_TIMEOUT_VARIABLE}"
        )
    return processes


def agree_across_processes(processes: Processes, facts: dict[str, str]) -> None:
    """Before any step, processes in step compare a digest of each fact that must be equal
    (labels, dataset, model, training); a difference is refused on every process, naming the
    first fact that differs, instead of gradients averaged over different label sets or Gloo
    aborting on different shapes."""
    if processes.count == 1:
        return
    import hashlib

    import numpy as np
    from jax.experimental import multihost_utils

    mine = np.array([int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) for text in facts.values()], np.uint32)
    every = np.asarray(multihost_utils.process_allgather(mine)).reshape(processes.count, len(facts))
    for column, name in enumerate(facts):
        if len(set(every[:, column].tolist())) > 1:
            others = [str(i) for i in range(processes.count) if every[i, column] != mine[column]]
            raise ExitNow(
                f"processes in step must train the same thing, but process {processes.index} and process(es) "
                f"{', '.join(others)} differ in {name}; start every process with the same data folder and options"
            )


def resolve_jax_device(requested: str, processes: Processes = Processes()) -> DeviceChoice:
    """The device choice under Keras's JAX backend: every device of the chosen kind, of every
    process joined, data parallel (JAX_PLATFORMS=cpu forces the CPU;
    XLA_FLAGS=--xla_force_host_platform_device_count=N makes N CPU devices)."""
    import jax

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    capabilities = []
    for device in gpus:
        major, _, minor = str(getattr(device, "compute_capability", "")).partition(".")
        if major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit():
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
    """What TensorFlow sees, for `sketch info` (the CPU count alone in a slim install, or on a
    Linux machine without a GPU driver, where importing TensorFlow to ask would take seconds
    to say the same)."""
    if not gpu_driver_present():
        return {"gpus": [], "cpus": os.cpu_count() or 1, "built_with_cuda": False}
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


def gpu_driver_present() -> bool:
    """Whether a GPU driver is loaded: on Linux, TensorFlow reaches a GPU only through NVIDIA's
    (or ROCm's) kernel driver; elsewhere, assume so and ask TensorFlow."""
    if not sys.platform.startswith("linux"):
        return True
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/kfd")

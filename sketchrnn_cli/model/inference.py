"""Stroke-3 sequences -> class probabilities: one Predictor protocol, run by LiteRT (no
TensorFlow import), TensorFlow, or Keras on any backend.

Every predictor takes a list of float32 [N, 3] arrays and returns float32 [len, classes]. The
command line calls the engine that runs a model its --backend (tensorflow, litert, keras, onnx);
"Keras backend" is only ever Keras's own (tensorflow, jax). The keras engine runs model.keras
on whichever Keras backend this process has: JAX where TensorFlow is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .. import provenance
from ..artifacts import RunError, RunFiles, read_config
from ..config import RunConfig
from ..errors import SketchError, first_line, installed, require
from .pipeline import bucket_bounds, bucket_of, padded_length

ENGINES = ("tensorflow", "litert", "keras", "onnx")  # what runs a model: sketch evaluate/predict --backend
ENGINE_CHOICES = ("auto", *ENGINES)  # auto: the fastest one installed for the job (open_predictor)


class Predictor(Protocol):
    name: str  # the engine, as --backend names it

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray: ...


class LiteRTPredictor:
    name = "litert"

    def __init__(self, files: RunFiles, config: RunConfig):
        from ai_edge_litert.interpreter import Interpreter

        from ..backend import silenced_stderr

        try:
            with silenced_stderr():  # LiteRT announces its CPU delegate on stderr
                self.interpreter = Interpreter(model_path=str(files.tflite_model))
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise RunError(f"{files.tflite_model}: not a readable LiteRT model ({error})") from None
        inputs = self.interpreter.get_input_details()
        self.strokes: Any = next((d for d in inputs if "strokes" in d["name"]), None)
        self.length: Any = next((d for d in inputs if "length" in d["name"]), None)
        self.output = self.interpreter.get_output_details()[0]
        if (
            self.strokes is None
            or self.length is None
            or self.output["shape"][-1] != len(config.data.labels)
            or tuple(self.strokes["shape"][-1:]) != (3,)
            or self.strokes["dtype"] != np.float32
            or self.length["dtype"] != np.int32
        ):
            raise RunError(
                f"{files.tflite_model}: does not match the run's config and labels "
                f"(expected strokes [1, time, 3] float32, length int32, {len(config.data.labels)} classes)"
            )
        provenance.check(files.tflite_model, provenance.tflite_stamp(files.tflite_model), config)
        self.path = files.tflite_model

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        rows = []
        for sequence in sequences:
            try:
                self.interpreter.resize_tensor_input(self.strokes["index"], [1, len(sequence), 3])
                self.interpreter.allocate_tensors()
                self.interpreter.set_tensor(self.strokes["index"], sequence[None].astype(np.float32))
                self.interpreter.set_tensor(self.length["index"], np.array([len(sequence)], dtype=np.int32))
                self.interpreter.invoke()
            except (ValueError, RuntimeError) as error:
                raise RunError(f"{self.path}: LiteRT cannot run it ({str(error).splitlines()[0]})") from None
            rows.append(self.interpreter.get_tensor(self.output["index"])[0])
        return np.array(rows, dtype=np.float32).reshape(len(rows), self.output["shape"][-1])


class OnnxPredictor:
    """model.onnx on onnxruntime (no TensorFlow import), in batches of similar lengths."""

    name = "onnx"

    def __init__(self, files: RunFiles, config: RunConfig, batch_size: int = 256):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(
                str(files.onnx_model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's own kinds for unreadable or foreign files
            raise RunError(f"{files.onnx_model}: not a readable ONNX model ({str(error).splitlines()[0]})") from None
        names = [i.name for i in self.session.get_inputs()]
        self.strokes = next((n for n in names if "strokes" in n), None)
        self.length = next((n for n in names if "length" in n), None)
        classes = self.session.get_outputs()[0].shape[-1]  # a number, or a name checked on each answer
        if (
            self.strokes is None
            or self.length is None
            or (isinstance(classes, int) and classes != len(config.data.labels))
        ):
            raise RunError(
                f"{files.onnx_model}: does not match the run's config and labels "
                f"(expected inputs strokes and length, {len(config.data.labels)} classes)"
            )
        provenance.check(files.onnx_model, provenance.onnx_session_stamp(self.session), config)
        self.classes, self.batch_size, self.path = len(config.data.labels), batch_size, files.onnx_model

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        return in_length_order(sequences, self.classes, self.batch_size, self._run)

    def _run(self, strokes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        try:
            output = self.session.run(None, {self.strokes: strokes, self.length: lengths})[0]
        except Exception as error:  # onnxruntime's own kinds
            raise RunError(f"{self.path}: onnxruntime cannot run it ({str(error).splitlines()[0]})") from None
        if output.shape[-1] != self.classes:
            raise RunError(f"{self.path}: gives {output.shape[-1]} classes, the run has {self.classes}")
        if not is_probabilities(output):
            raise RunError(f"{self.path}: its outputs are not probabilities (negative, or rows not summing to 1)")
        return output


def is_probabilities(rows: np.ndarray) -> bool:
    """Whether every row is a distribution: no negative entry, a sum of 1 (float32's rounding)."""
    return bool(np.all(rows >= 0) and np.allclose(rows.sum(axis=-1), 1.0, atol=1e-3))


class TensorFlowPredictor:
    """A Keras model's probabilities for a list of drawings: the one prediction function of
    validation during training, `sketch evaluate` and `sketch predict` on TensorFlow."""

    name = "tensorflow"

    def __init__(self, model, classes: int, batch_size: int = 256):
        from ..backend import import_tensorflow

        tf = import_tensorflow()
        # One trace for every batch and length (predict_on_batch would trace each new shape);
        # plain calls, not predict_on_batch: under a MirroredStrategy that repeats the batch.
        signature = {"strokes": tf.TensorSpec([None, None, 3], tf.float32), "length": tf.TensorSpec([None], tf.int32)}
        self.call = tf.function(lambda inputs: model(inputs, training=False), input_signature=[signature])
        self.batch_size = batch_size
        self.classes = classes

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        return in_length_order(
            sequences, self.classes, self.batch_size, lambda s, n: self.call({"strokes": s, "length": n}).numpy()
        )


class KerasPredictor:
    """A Keras model's probabilities on any Keras backend (JAX: compiled once per shape). Lengths
    are padded to a few bounds and batches to a power of two up to ``batch_size``, so that few
    shapes exist and one drawing costs a batch of one."""

    name = "keras"

    def __init__(self, model, classes: int, bounds, batch_size: int = 256, rows_multiple: int = 1):
        self.model, self.classes, self.batch_size = model, classes, batch_size
        self.bounds = np.asarray(bounds)
        self.rows_multiple = rows_multiple  # data parallel: batches split evenly over the devices

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        result = np.zeros((len(sequences), self.classes), dtype=np.float32)
        lengths = np.array([len(s) for s in sequences])
        bucket = bucket_of(lengths, self.bounds)
        for index, bound in enumerate(self.bounds):
            rows = np.flatnonzero(bucket == index)
            for start in range(0, len(rows), self.batch_size):
                chosen = rows[start : start + self.batch_size]
                rows_padded = self._padded_rows(len(chosen))
                strokes = np.zeros((rows_padded, int(bound), 3), dtype=np.float32)
                length = np.ones(rows_padded, dtype=np.int32)  # the padding rows: one zero step
                for row, i in enumerate(chosen):
                    sequence = sequences[i][: int(bound)]
                    strokes[row, : len(sequence)] = sequence
                    length[row] = len(sequence)
                output = self.model.predict_on_batch({"strokes": strokes, "length": length})
                result[chosen] = np.asarray(output, dtype=np.float32)[: len(chosen)]
        return result

    def _padded_rows(self, rows: int) -> int:
        """A power of two up to the batch size, and a multiple of ``rows_multiple``."""
        power = min(self.batch_size, 1 << (rows - 1).bit_length())
        return -(-power // self.rows_multiple) * self.rows_multiple

    def warm_up(self) -> None:
        """Compiles the one-drawing shape of every length bound, so no guess waits for it."""
        for bound in self.bounds:
            self.predict([np.zeros((int(bound), 3), np.float32)])


def tensorflow_predictor(files: RunFiles, config: RunConfig):
    """The run's Keras model (rebuilt from config.json, weights from model.keras), or an export
    folder's saved_model/ where there is no model.keras."""
    from .model_io import load_trained_model

    if not files.keras_model.exists() and files.saved_model.is_dir():
        return SavedModelPredictor(files, config)
    _, model = load_trained_model(files)
    return TensorFlowPredictor(model, len(config.data.labels))


class SavedModelPredictor:
    """An export's saved_model/ on TensorFlow (its one signature), in batches of similar lengths."""

    name = "tensorflow"

    def __init__(self, files: RunFiles, config: RunConfig, batch_size: int = 256):
        from ..backend import import_tensorflow

        provenance.check(files.saved_model, provenance.saved_model_stamp(files.saved_model), config)
        tf = import_tensorflow()
        try:
            self.serve = tf.saved_model.load(str(files.saved_model)).signatures["serving_default"]
        except Exception as error:  # TensorFlow's own kinds for a damaged folder
            raise RunError(f"{files.saved_model}: not a readable SavedModel ({first_line(error)})") from None
        self.tf, self.classes, self.batch_size = tf, len(config.data.labels), batch_size

    def predict(self, sequences: list[np.ndarray]) -> np.ndarray:
        return in_length_order(sequences, self.classes, self.batch_size, self._run)

    def _run(self, strokes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        outputs = self.serve(strokes=self.tf.constant(strokes), length=self.tf.constant(lengths))
        return next(iter(outputs.values())).numpy()


def in_length_order(sequences: list[np.ndarray], classes: int, batch_size: int, run) -> np.ndarray:
    """Batches drawings of similar length together, each padded (``pad``) and given to
    ``run(strokes, lengths)``, then puts the answers back in order."""
    result = np.zeros((len(sequences), classes), dtype=np.float32)
    order = np.argsort([len(s) for s in sequences], kind="stable")
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        result[chosen] = run(*pad([sequences[i] for i in chosen]))
    return result


def pad(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pads with zeros to a common length (pipeline.padded_length)."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int32)
    steps = padded_length(int(lengths.max()))
    strokes = np.zeros((len(sequences), steps, 3), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        strokes[row, : len(sequence)] = sequence
    return strokes, lengths


def keras_predictor(files: RunFiles, config: RunConfig) -> KerasPredictor:
    """The run's Keras model on this process's Keras backend."""
    from .model_io import load_trained_model

    _, model = load_trained_model(files)
    return KerasPredictor(model, len(config.data.labels), bucket_bounds(config.data.max_length))


def open_predictor(run_dir: Path, backend: str = "auto", batched: bool = False) -> tuple[RunConfig, Predictor]:
    """(config, predictor) of a run or an export folder; auto: the engine for what the folder
    holds and what is installed (_automatic), LiteRT first for one drawing at a time."""
    if backend not in ENGINE_CHOICES:
        raise SketchError(f"unknown backend {backend!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    files = RunFiles(Path(run_dir))
    config = read_config(files)
    if backend == "auto":
        backend = _automatic(files, batched)
    for model_file in (files.tflite_model, files.onnx_model, files.keras_model):
        if model_file.exists() and not model_file.is_file():
            raise RunError(f"{model_file}: is not a regular file; remove it or export the model again")
    if backend == "litert":
        if not files.tflite_model.is_file():
            raise RunError(
                f"{files.tflite_model}: missing; make it with sketch export {files.root} --format tflite "
                f"--out {files.root} (or use --backend {'tensorflow' if installed('tensorflow') else 'keras'})"
            )
        if not _litert_installed():
            raise RunError("the litert backend needs ai-edge-litert (pip install ai-edge-litert)")
        return config, LiteRTPredictor(files, config)
    if backend in ("keras", "tensorflow"):  # one line naming the extra, not an ImportError from deep inside
        require("keras" if backend == "keras" else "tensorflow")
    if backend == "keras":
        return config, keras_predictor(files, config)
    if backend == "onnx":
        if not files.onnx_model.is_file():
            raise RunError(
                f"{files.onnx_model}: missing; make it with sketch export {files.root} --format onnx --out DIR"
            )
        if not installed("onnxruntime"):
            raise RunError('the onnx backend needs onnxruntime: pip install "sketchrnn-cli[onnx]"')
        return config, OnnxPredictor(files, config)
    return config, tensorflow_predictor(files, config)


ENGINE_FILES = {"litert": "model.tflite", "onnx": "model.onnx"}
ENGINE_NAMES = {"litert": "LiteRT", "onnx": "onnxruntime", "tensorflow": "TensorFlow", "keras": "Keras"}


def unusual_engine(run_dir: Path, engine: str) -> str | None:
    """A line for the user when --backend auto ran something other than a run's usual model
    (model.tflite on LiteRT, model.keras on TensorFlow or Keras): an export folder's ONNX model
    or SavedModel. None otherwise."""
    files = RunFiles(Path(run_dir))
    if files.keras_model.is_file() or engine == "litert":
        return None
    model = ENGINE_FILES.get(engine, "saved_model/")
    return f"{files.root} holds no model.keras: running its {model} on {ENGINE_NAMES.get(engine, engine)}"


def _automatic(files: RunFiles, batched: bool) -> str:
    """The engine for what the folder holds: a run's model.keras (or an export's saved_model/)
    on TensorFlow, else Keras on JAX; model.tflite on LiteRT (first for one drawing at a time,
    its fast path); model.onnx on onnxruntime. With none of them runnable here: the error of
    the engine that names what to install."""
    litert = files.tflite_model.is_file() and _litert_installed()
    if litert and not batched:
        return "litert"
    if files.keras_model.is_file() or (files.saved_model / "saved_model.pb").is_file():
        if installed("tensorflow"):
            return "tensorflow"
        if files.keras_model.is_file() and installed("keras") and installed("jax"):
            return "keras"
    if litert:
        return "litert"
    if files.onnx_model.is_file() and installed("onnxruntime"):
        return "onnx"
    if files.tflite_model.is_file():
        return "litert"
    return "onnx" if files.onnx_model.is_file() else "tensorflow"


def _litert_installed() -> bool:
    return installed("ai_edge_litert")

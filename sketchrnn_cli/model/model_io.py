"""A trained model out of and into files: rebuilt from config.json, exported for serving.

Loading never deserialises code from a model file: the architecture comes from our own
build_model(config), and only weights are read from model.keras.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from .. import provenance
from ..artifacts import RunError, RunFiles, atomic_write, read_config, replace_folder, write_config
from ..backend import import_tensorflow, keras_backend, silenced_stderr
from ..config import RunConfig, answers_digest
from ..errors import SketchError, require, writing


def load_trained_model(files: RunFiles):
    """(config, keras.Model with the run's weights); RunError for a missing or damaged run."""
    if keras_backend() == "tensorflow":
        import_tensorflow()  # quietly, before Keras does
    from .model import build_model

    config = read_config(files)
    if not files.keras_model.is_file():
        raise RunError(f"{files.keras_model}: missing; did training finish?")
    model = build_model(config.model, len(config.data.labels), config.data.input_scale)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Keras only warns about some weights it could not place
            model.load_weights(files.keras_model)
    except Exception as error:  # h5py, zipfile and Keras raise many kinds for damaged files
        raise RunError(f"{files.keras_model}: cannot load weights ({type(error).__name__}: {error})") from None
    return config, model


def initialise_from(run_dir: Path, model, labels: tuple[str, ...]) -> list[str]:
    """Starts ``model`` from a trained run: every layer of the same name and shapes takes its
    weights, and the class layers take them category by category for the categories both know.
    Returns the categories the run did not know (their outputs start fresh)."""
    from .model import CLASS_LAYERS

    source_config, source = load_trained_model(RunFiles(Path(run_dir)))
    known = {name: index for index, name in enumerate(source_config.data.labels)}
    theirs_by_name = {layer.name: layer for layer in source.layers}
    for layer in model.layers:
        mine, theirs = (
            layer.get_weights(),
            (theirs_by_name[layer.name].get_weights() if layer.name in theirs_by_name else []),
        )
        if not mine or len(mine) != len(theirs):
            continue
        if layer.name in CLASS_LAYERS:
            layer.set_weights([_by_category(m, t, labels, known) for m, t in zip(mine, theirs)])
        elif all(m.shape == t.shape for m, t in zip(mine, theirs)):
            layer.set_weights(theirs)
    return [label for label in labels if label not in known]


def _by_category(mine, theirs, labels, known):
    """A class layer's weight (last axis: categories) with the known categories' slices copied."""
    result = mine.copy()
    for index, label in enumerate(labels):
        if label in known and mine.shape[:-1] == theirs.shape[:-1]:
            result[..., index] = theirs[..., known[label]]
    return result


def _signature(batch_size: int | None = None) -> list:
    """The exported model's one input: strokes [batch, time, 3], length [batch]."""
    tf = import_tensorflow()
    return [
        {
            "strokes": tf.TensorSpec([batch_size, None, 3], tf.float32, name="strokes"),
            "length": tf.TensorSpec([batch_size], tf.int32, name="length"),
        }
    ]


def export_saved_model(model, folder: Path, batch_size: int | None = None) -> None:
    """A TF SavedModel with one signature: strokes [batch, time, 3], length [batch]."""
    model.export(str(folder), format="tf_saved_model", input_signature=_signature(batch_size), verbose=False)


def tflite_bytes(model) -> bytes:
    """LiteRT flatbuffer for one drawing at a time (LSTMs need a static batch to convert)."""
    tf = import_tensorflow()
    with tempfile.TemporaryDirectory() as tmp:
        export_saved_model(model, Path(tmp) / "saved", batch_size=1)
        return tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "saved")).convert()


def write_tflite(model, path: Path, config: RunConfig) -> None:
    """model.tflite, stamped with the run it was made from (provenance.py)."""
    flatbuffer = provenance.tflite_stamped(tflite_bytes(model), config)
    atomic_write(path, lambda tmp: tmp.write_bytes(flatbuffer))


def write_onnx(model, path: Path, config: RunConfig) -> None:
    """ONNX for onnxruntime (servers, browsers through onnxruntime-web, phones): Keras's own
    export, through tf2onnx; batch and length stay free. Stamped with the run it was made from."""
    signature = _signature()

    def write(tmp: Path) -> None:
        model.export(str(tmp), format="onnx", input_signature=signature, verbose=False)
        provenance.onnx_stamped(tmp, config)

    with warnings.catch_warnings(), silenced_stderr():  # tf2onnx logs every graph rewrite
        warnings.simplefilter("ignore")
        atomic_write(path, write)


def write_saved_model(model, folder: Path, config: RunConfig) -> None:
    """saved_model/, stamped; the old one stays until the new one is complete."""

    def fill(fresh: Path) -> None:
        export_saved_model(model, fresh)
        provenance.write_saved_model_stamp(fresh, config)

    replace_folder(folder, fill)


MODEL_FORMATS = ("tflite", "saved_model", "onnx")  # a model file beside its config and labels
WEB_FORMAT = "web"  # the draw page around model.onnx, as a static site (use/web_export.py)
EXPORT_FORMATS = (*MODEL_FORMATS, WEB_FORMAT)
EXPORT_TARGETS = {"tflite": "model.tflite", "onnx": "model.onnx", "saved_model": "saved_model"}
_WRITERS = {"tflite": write_tflite, "onnx": write_onnx, "saved_model": write_saved_model}


def export_run(files: RunFiles, format: str, out: Path) -> Path:
    """`sketch export`: the run's model as tflite, saved_model or onnx in ``out``, labels and
    config beside it (so the folder works as --model). An ``out`` holding anything that is not
    this run's (a config, labels or a model file) is refused before anything is written."""
    if format not in MODEL_FORMATS:
        raise SketchError(f"unknown model format {format!r}; choose one of {', '.join(MODEL_FORMATS)}")
    if format == "onnx":
        require("tf2onnx", "onnx")  # before loading anything: one line naming the extra
    check_export_folder(read_config(files), files.root, out)
    config, model = load_trained_model(files)
    out.mkdir(parents=True, exist_ok=True)
    target = out / EXPORT_TARGETS[format]
    with writing(target):
        _WRITERS[format](model, target, config)
    write_config(RunFiles(out), config)  # labels.txt and config.json, each renamed into place
    return target


def check_export_folder(config: RunConfig, run: Path, out: Path) -> None:
    """SketchError unless every config, labels and model file already in ``out`` is this run's:
    an export never replaces a user's file, nor mixes one run's model with another's labels."""
    if out.exists() and not out.is_dir():
        raise SketchError(f"{out}: is not a folder; choose a new or empty --out folder")
    if not out.exists() or _same_folder(run, out):
        return
    theirs = RunFiles(out)
    advice = "choose a new or empty --out folder, or remove it"
    if theirs.config.exists() or theirs.config.is_symlink():
        try:
            other = RunConfig.from_json(theirs.config.read_text())
        except (SketchError, OSError, UnicodeDecodeError):
            raise SketchError(f"{out} holds a config.json that sketch did not write; {advice}") from None
        if answers_digest(other) != answers_digest(config):  # the one identity model files carry too
            raise SketchError(f"{out} holds the config.json of another run ({_categories(other)}); {advice}")
    if theirs.labels.exists() or theirs.labels.is_symlink():
        try:
            labels = tuple(line for line in theirs.labels.read_text().splitlines() if line)
        except (OSError, UnicodeDecodeError):
            labels = ()
        if labels != config.data.labels:
            raise SketchError(f"{out} holds a labels.txt that is not this run's; {advice}")
    if theirs.keras_model.exists() and not theirs.config.exists():
        raise SketchError(f"{out} holds a model.keras without its config.json; {advice}")
    for name in EXPORT_TARGETS.values():
        path = out / name
        if path.exists() or path.is_symlink():
            found = provenance.stamp_of(path) if path.is_file() or path.is_dir() else None
            if found is None or found.get("digest") != answers_digest(config):
                raise SketchError(f"{out} holds a {name} that is not this run's; {advice}")


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _categories(config: RunConfig) -> str:
    labels = config.data.labels
    return f"{len(labels)} categories: {', '.join(labels[:3])}{', ...' if len(labels) > 3 else ''}"


def main(argv: list[str]) -> int:
    """`python -m sketchrnn_cli.model.model_io RUN`: the run's model.tflite, in a process of its own whose
    Keras runs on TensorFlow (a JAX run's trainer cannot switch backends). One line on stderr
    and exit 1 when it cannot."""
    import os
    import sys

    os.environ["KERAS_BACKEND"] = "tensorflow"
    try:
        files = RunFiles(Path(argv[0]))
        config, model = load_trained_model(files)
        with writing(files.tflite_model):
            write_tflite(model, files.tflite_model, config)
    except (SketchError, OSError) as error:
        print(str(error).splitlines()[0] if str(error) else type(error).__name__, file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        print(f"{error.name} is not installed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))

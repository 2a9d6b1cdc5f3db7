"""A trained model out of and into files: rebuilt from config.json, exported for serving.

Loading never deserialises code from a model file: the architecture comes from our own
build_model(config), and only weights are read from model.keras.
"""

from __future__ import annotations

import warnings
import tempfile
from pathlib import Path

from .artifacts import RunError, RunFiles, atomic_write, read_config, replace_folder, write_config
from .devices import import_tensorflow
from .errors import SketchError, writing


def load_trained_model(files: RunFiles):
    """(config, keras.Model with the run's weights); RunError for a missing or damaged run."""
    import_tensorflow()
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


def export_saved_model(model, folder: Path, batch_size: int | None = None) -> None:
    """A TF SavedModel with one signature: strokes [batch, time, 3], length [batch]."""
    tf = import_tensorflow()
    signature = [{
        "strokes": tf.TensorSpec([batch_size, None, 3], tf.float32, name="strokes"),
        "length": tf.TensorSpec([batch_size], tf.int32, name="length"),
    }]
    model.export(str(folder), format="tf_saved_model", input_signature=signature, verbose=False)


def tflite_bytes(model) -> bytes:
    """LiteRT flatbuffer for one drawing at a time (LSTMs need a static batch to convert)."""
    tf = import_tensorflow()
    with tempfile.TemporaryDirectory() as tmp:
        export_saved_model(model, Path(tmp) / "saved", batch_size=1)
        return tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "saved")).convert()


def write_tflite(model, path: Path) -> None:
    flatbuffer = tflite_bytes(model)
    atomic_write(path, lambda tmp: tmp.write_bytes(flatbuffer))


def export_run(files: RunFiles, format: str, out: Path) -> Path:
    """`sketch export`: the run's model as tflite or saved_model in ``out``, labels beside it."""
    config, model = load_trained_model(files)
    out.mkdir(parents=True, exist_ok=True)
    if format == "tflite":
        target = out / "model.tflite"
        with writing(target):
            write_tflite(model, target)
    elif format == "saved_model":
        target = out / "saved_model"
        with writing(target):  # the old one stays until the new one is complete
            replace_folder(target, lambda fresh: export_saved_model(model, fresh))
    else:
        raise SketchError(f"unknown export format {format!r}; choose tflite or saved_model")
    write_config(RunFiles(out), config)  # labels.txt and config.json, each renamed into place
    return target

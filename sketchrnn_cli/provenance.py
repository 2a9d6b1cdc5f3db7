"""What a model file was made from. Every model file sketch writes carries the labels and the
answers digest (config.answers_digest) of its run, and every engine checks them against the
config.json beside it: a model file copied beside another run's config, or an export folder
reused for a second run, is refused in one line instead of answering under the wrong names.

    model.tflite   a metadata entry named "sketchrnn_cli" (TFLite's own place for such records)
    model.onnx     metadata_props["sketchrnn_cli"]
    saved_model/   sketchrnn_cli.json inside the folder

The stamp is JSON: {"digest": "...", "labels": [...]}. No TensorFlow here: the TFLite schema and
flatbuffers come with ai-edge-litert, the slim install's interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path

from .artifacts import RunError
from .config import RunConfig, answers_digest
from .errors import installed

KEY = "sketchrnn_cli"
SAVED_MODEL_STAMP = f"{KEY}.json"


def stamp(config: RunConfig) -> dict:
    return {"digest": answers_digest(config), "labels": list(config.data.labels)}


def check(path: Path, found: dict | None, config: RunConfig) -> None:
    """RunError naming ``path`` unless its stamp says it was made from this config."""
    if found is None:
        raise RunError(
            f"{path}: carries no record of the run it was made from (made by an older sketch, or not by sketch); "
            "export it again with sketch export"
        )
    if found.get("digest") == answers_digest(config):
        return
    theirs = found.get("labels")
    why = (
        f"its {len(theirs)} labels differ from the {len(config.data.labels)} in config.json"
        if isinstance(theirs, list) and theirs != list(config.data.labels)
        else "it was made from another model or temperature than config.json describes"
    )
    raise RunError(f"{path}: was made from another run ({why}); export this run again, or use the folder it came with")


def _parsed(text: str | bytes | None) -> dict | None:
    try:
        value = json.loads(text) if text else None
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


# TFLite: a flatbuffer Model with a list of (name, buffer index) metadata entries.


def tflite_stamped(flatbuffer: bytes, config: RunConfig) -> bytes:
    """The TFLite model ``flatbuffer`` with this run's stamp as a metadata entry."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    record = schema.BufferT()
    record.data = list(json.dumps(stamp(config)).encode())
    model.buffers.append(record)
    entry = schema.MetadataT()
    entry.name, entry.buffer = KEY, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (KEY, KEY.encode())] + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tflite_stamp(path: Path) -> dict | None:
    """The stamp of a TFLite file, or None (none there, or not a TFLite file)."""
    from ai_edge_litert import schema_py_generated as schema

    data = Path(path).read_bytes()
    try:
        model = schema.Model.GetRootAs(data, 0)
        for index in range(model.MetadataLength()):
            entry = model.Metadata(index)
            if entry.Name() in (KEY, KEY.encode()):
                return _parsed(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    except Exception:  # flatbuffers raises struct.error, IndexError ... for bytes that are not a model
        return None
    return None


# ONNX: the model's metadata_props, read by onnxruntime without the onnx package.


def onnx_stamped(path: Path, config: RunConfig) -> None:
    """Adds this run's stamp to the ONNX file at ``path`` (a temporary file of atomic_write)."""
    import onnx

    model = onnx.load(str(path))
    props = {entry.key: entry.value for entry in model.metadata_props}  # set_model_props replaces them all
    onnx.helper.set_model_props(model, {**props, KEY: json.dumps(stamp(config))})
    onnx.save(model, str(path))


def onnx_session_stamp(session) -> dict | None:
    """The stamp of an onnxruntime InferenceSession's model."""
    return _parsed(session.get_modelmeta().custom_metadata_map.get(KEY))


def onnx_stamp(path: Path) -> dict | None:
    """The stamp of an ONNX file, or None (none there, unreadable, or no onnx library here)."""
    try:
        if installed("onnx"):
            import onnx

            props = {e.key: e.value for e in onnx.load(str(path), load_external_data=False).metadata_props}
            return _parsed(props.get(KEY))
        if installed("onnxruntime"):
            import onnxruntime

            return onnx_session_stamp(onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    except Exception:  # protobuf's and onnxruntime's own kinds for a foreign file
        return None
    return None


# A SavedModel is a folder: the stamp is a file inside it.


def write_saved_model_stamp(folder: Path, config: RunConfig) -> None:
    (Path(folder) / SAVED_MODEL_STAMP).write_text(json.dumps(stamp(config)) + "\n")


def saved_model_stamp(folder: Path) -> dict | None:
    try:
        return _parsed((Path(folder) / SAVED_MODEL_STAMP).read_bytes())
    except OSError:
        return None


def stamp_of(path: Path) -> dict | None:
    """The stamp of any model file or folder sketch writes, by its name."""
    if path.name == "saved_model":
        return saved_model_stamp(path)
    if path.suffix == ".onnx":
        return onnx_stamp(path)
    if path.suffix == ".tflite":
        return tflite_stamp(path)
    return None

"""`sketch export` never replaces what is not this run's, and every engine refuses a model file
made from another run (red team 3, #1-4)."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from conftest import one_error_line, sketch


def another_run(trained_run, folder):
    """A copy of the shared run whose config says other labels (its categories in reverse order):
    a run folder like any other, whose model files were made from the shared run's config."""
    from sketchrnn_cli.artifacts import RunFiles, read_config, write_config

    shutil.copytree(trained_run, folder)
    config = read_config(RunFiles(folder))
    data = dataclasses.replace(config.data, labels=tuple(reversed(config.data.labels)))
    write_config(RunFiles(folder), dataclasses.replace(config, data=data))
    return folder


def contents(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_export_refuses_a_folder_holding_the_user_s_own_config_and_labels(trained_run, tmp_path, fmt):
    """Red team 3, #1: `sketch export RUN --out proj` replaced the user's own config.json and
    labels.txt in proj (rc 0, without a word)."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "config.json").write_text('{"my": "config"}\n')
    (project / "labels.txt").write_text("mine\n")
    before = contents(project)
    done = sketch("export", trained_run, "--format", fmt, "--out", project)
    one_error_line(done, "proj holds a config.json that sketch did not write", "choose a new or empty --out")
    assert contents(project) == before
    (project / "config.json").unlink()
    done = sketch("export", trained_run, "--format", fmt, "--out", project)
    one_error_line(done, "proj holds a labels.txt that is not this run's")
    assert (project / "labels.txt").read_text() == "mine\n"


def test_export_into_another_run_s_folder_is_refused_and_that_run_untouched(trained_run, tmp_path):
    """Red team 3, #2: `sketch export runA --format onnx --out runB` rewrote runB's config and
    labels, so runB's own model files answered under runA's names. Exporting into the run's own
    folder still works."""
    run_b = another_run(trained_run, tmp_path / "runB")
    before = contents(run_b)
    done = sketch("export", trained_run, "--format", "onnx", "--out", run_b)
    one_error_line(done, "runB holds the config.json of another run (3 categories: square, zigzag, circle)")
    assert contents(run_b) == before
    own = tmp_path / "own"
    shutil.copytree(trained_run, own)
    done = sketch("export", own, "--format", "tflite", "--out", own)
    assert done.returncode == 0, done.stderr
    assert "config.json" in done.stderr


def test_an_export_folder_reused_for_a_second_run_is_refused(trained_run, tmp_path):
    """Red team 3, #3: one export folder reused for a second run held the first run's
    model.tflite beside the second's config and labels, and LiteRT named the first model's
    outputs with the second's labels. A second export of the same run still replaces its own."""
    out = tmp_path / "serving"
    assert sketch("export", trained_run, "--format", "tflite", "--out", out).returncode == 0
    again = sketch("export", trained_run, "--format", "tflite", "--out", out)
    assert again.returncode == 0, again.stderr
    run_b = another_run(trained_run, tmp_path / "runB")
    before = contents(out)
    done = sketch("export", run_b, "--format", "saved_model", "--out", out)
    one_error_line(done, "serving holds the config.json of another run")
    assert contents(out) == before
    (out / "config.json").unlink()
    (out / "labels.txt").unlink()
    done = sketch("export", run_b, "--format", "saved_model", "--out", out)
    one_error_line(done, "serving holds a model.tflite that is not this run's")


def test_every_engine_refuses_a_model_file_of_another_run_with_the_same_classes(
    trained_run, onnx_export, drawings_file, tmp_path
):
    """Red team 3, #4: a model.onnx (or model.tflite) of another run with the same number of
    classes was accepted and scored; the engines checked input names and class counts only."""
    run_b = another_run(trained_run, tmp_path / "runB")  # its model.tflite is the shared run's
    shutil.copy(onnx_export / "model.onnx", run_b / "model.onnx")
    for backend in ("litert", "onnx"):
        done = sketch("predict", "--model", run_b, "--backend", backend, drawings_file)
        one_error_line(done, f"model.{'tflite' if backend == 'litert' else 'onnx'}: was made from another run")
        assert "its 3 labels differ from the 3 in config.json" in done.stderr
    (run_b / "model.tflite").write_bytes(_unstamped_tflite(trained_run / "model.tflite"))
    done = sketch("predict", "--model", run_b, "--backend", "litert", drawings_file)
    one_error_line(done, "model.tflite: carries no record of the run it was made from")


def _unstamped_tflite(path) -> bytes:
    """The TFLite file without its metadata entries, as an older sketch wrote it."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(path.read_bytes(), 0))
    model.metadata = [entry for entry in model.metadata or [] if entry.name not in ("sketchrnn_cli", b"sketchrnn_cli")]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_a_model_file_that_is_not_a_regular_file_is_named_as_such(run_copy, drawings_file):
    """Red team 3, cosmetic: a FIFO named model.onnx read as "missing"."""
    import os

    os.mkfifo(run_copy / "model.onnx")
    done = sketch("predict", "--model", run_copy, "--backend", "onnx", drawings_file)
    one_error_line(done, "model.onnx: is not a regular file")


def test_the_model_files_a_run_and_its_exports_hold_carry_the_run_s_stamp(trained_run, onnx_export):
    from sketchrnn_cli import provenance
    from sketchrnn_cli.artifacts import RunFiles, read_config
    from sketchrnn_cli.config import answers_digest

    digest = answers_digest(read_config(RunFiles(trained_run)))
    assert provenance.tflite_stamp(trained_run / "model.tflite")["digest"] == digest
    assert provenance.onnx_stamp(onnx_export / "model.onnx")["digest"] == digest

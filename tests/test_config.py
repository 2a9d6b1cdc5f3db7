import json
import shutil

import pytest

from sketchrnn_cli.config import FORMAT_VERSION, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig

from conftest import (
    drawing_line,
    one_error_line,
    sketch,
)


def test_config_round_trips_through_json():
    config = RunConfig(
        data=DataConfig(labels=("cat", "dog"), input_scale=3.5),
        model=ModelConfig(arch="conv-gru", conv_filters=(8, 16), conv_strides=(1, 2)),
        train=TrainConfig(max_minutes=2.5, seed=7),
    )
    assert RunConfig.from_json(config.to_json()) == config


def test_a_missing_key_is_named():
    raw = json.loads(RunConfig().to_json())
    del raw["model"]["rnn_units"]
    with pytest.raises(ConfigError, match="config.model has no key 'rnn_units'"):
        RunConfig.from_json(json.dumps(raw))


def test_a_version_1_config_reads_as_the_model_it_built_then_without_an_image():
    raw = json.loads(RunConfig().to_json())
    raw["format_version"] = 1
    for key in ("image_side", "image_filters", "image_units"):
        del raw["model"][key]
    config = RunConfig.from_json(json.dumps(raw))
    assert config.model.image_side == 0
    assert config.model == ModelConfig(image_side=0)


def test_a_newer_format_version_is_refused():
    raw = json.loads(RunConfig().to_json())
    raw["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ConfigError, match="format_version .* not supported"):
        RunConfig.from_json(json.dumps(raw))


def test_wrong_types_and_bad_json_are_refused():
    raw = json.loads(RunConfig().to_json())
    raw["train"]["epochs"] = "ten"
    with pytest.raises(ConfigError, match="config.train.epochs must be int"):
        RunConfig.from_json(json.dumps(raw))
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.from_json("{")


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("train", "learning_rate", -1, "train.learning_rate must be in (0, 1], got -1"),
        ("train", "epochs", -1, "train.epochs must be in [1, 100000], got -1"),
        ("train", "batch_size", 9000, "train.batch_size must be in [0, 8192], got 9000"),  # 0: auto
        ("train", "batch_size", -5, "train.batch_size must be in [0, 8192], got -5"),
        ("data", "max_length", 1, "data.max_length must be in [2, 10000], got 1"),
        ("model", "image_side", 100000, "model.image_side must be in [0, 64], got 100000"),
    ],
)
def test_an_out_of_bounds_config_value_is_one_line_naming_the_field(
    shapes_data, run_copy, section, key, value, message
):
    """Red team 1, #8: A hand-edited config.json: every field bounded, nesting bounded."""
    config = json.loads((run_copy / "config.json").read_text())
    config[section][key] = value
    (run_copy / "config.json").write_text(json.dumps(config))
    (run_copy / "summary.json").unlink()
    for done in (
        sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume"),
        sketch("predict", "--model", run_copy, "-", stdin=drawing_line()),
    ):
        one_error_line(done, str(run_copy / "config.json"), message)


def test_a_config_nested_absurdly_deep_is_one_line_everywhere(shapes_data, run_copy, tmp_path):
    """Red team 1, #9: A hand-edited config.json: every field bounded, nesting bounded."""
    (run_copy / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(run_copy, runs / "deep")
    for done in (
        sketch("predict", "--model", run_copy, "-", stdin=drawing_line()),
        sketch("evaluate", run_copy, "--data-dir", shapes_data),
        sketch("train", "--data-dir", shapes_data, "--run-dir", run_copy, "--resume"),
    ):
        one_error_line(done, "config.json", "nested too deeply")
    every = sketch("evaluate-all", runs, "--data-dir", shapes_data)
    assert every.returncode == 1 and "nested too deeply" in every.stderr and "Traceback" not in every.stderr


def test_a_config_before_calibration_reads_with_temperature_one():
    """Config format 6 added model.temperature; older runs keep their probabilities as they were."""
    raw = json.loads(RunConfig().to_json())
    raw["format_version"] = 5
    del raw["model"]["temperature"]
    assert RunConfig.from_json(json.dumps(raw)).model.temperature == 1.0


def test_a_config_before_sizes_and_weight_averaging_reads_as_the_run_it_was():
    """Config format 7 added model.size and train.weight_average, weight_decay and
    label_smoothing: older runs trained with plain Adam on one-hot targets, kept the weights as
    trained, and their model fields started from the default."""
    raw = json.loads(RunConfig().to_json())
    raw["format_version"] = 6
    for section, key in [
        ("model", "size"),
        *(("train", k) for k in ("weight_average", "weight_decay", "label_smoothing")),
    ]:
        del raw[section][key]
    train = RunConfig.from_json(json.dumps(raw)).train
    assert RunConfig.from_json(json.dumps(raw)).model.size == "default"
    assert (train.weight_average, train.weight_decay, train.label_smoothing) == (0.0, 0.0, 0.0)


def test_a_config_before_balancing_reads_as_each_drawing_once_an_epoch():
    """Config format 8 added train.balance: an older run's epochs (and so its resumed batches)
    held every drawing once."""
    raw = json.loads(RunConfig().to_json())
    raw["format_version"] = 7
    del raw["train"]["balance"]
    assert RunConfig.from_json(json.dumps(raw)).train.balance == 0.0
    assert RunConfig().train.balance == 1.0

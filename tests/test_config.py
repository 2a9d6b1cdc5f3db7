import json

import pytest

from sketchrnn_cli.config import FORMAT_VERSION, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig


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

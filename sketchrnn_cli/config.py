"""The one config object of a run: saved as config.json beside the weights, and the only
thing the model is rebuilt from. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field

FORMAT_VERSION = 2  # bump when keys are added; say in _ADDED_KEYS how older configs read

# Keys each format version added, with the values that rebuild an older run's model as it was.
_ADDED_KEYS = {
    2: {"model": {"image_side": 0, "image_filters": [32, 64, 128], "image_units": 128}},
}

ARCHITECTURES = ("conv-lstm", "conv-gru", "wavenet")


@dataclass(frozen=True)
class DataConfig:
    format: str = "simplified"  # which dataset of the data folder: simplified, raw or npz
    labels: tuple[str, ...] = ()  # category names, in the order of the model's outputs
    max_length: int = 250  # points per drawing fed to the model (longer ones are cut)
    input_scale: float = 1.0  # dx, dy are multiplied by this: 1 / std of the train split's offsets


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "conv-lstm"  # one of ARCHITECTURES
    conv_filters: tuple[int, ...] = (64, 128, 128)  # one Conv1D layer per entry
    conv_kernel: int = 5
    conv_strides: tuple[int, ...] = (1, 2, 2)  # strides shorten the sequence for the RNN
    conv_norm: str = "layer"  # "layer" or "batch" normalisation after each Conv1D
    positions: bool = True  # also feed absolute x, y (running sums of the offsets)
    rnn_units: int = 128
    rnn_layers: int = 1
    bidirectional: bool = True
    layer_norm: bool = False  # LayerNormalization after each recurrent layer
    dropout: float = 0.2  # before the classifier (never recurrent_dropout: it disables cuDNN)
    wavenet_dilations: tuple[int, ...] = (1, 2, 4, 8, 16)  # one block; repeated wavenet_stacks times
    wavenet_stacks: int = 2
    per_step_loss: bool = True  # a class at every real step, loss over all of them
    image_side: int = 28  # > 0: the drawing also drawn as a side x side image, through a small CNN
    image_filters: tuple[int, ...] = (32, 64, 128)  # one Conv2D + 2x2 max pool per entry
    image_units: int = 128  # the image's features, given to the classifier at every step


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    max_minutes: float | None = None  # stop after the epoch that crosses this
    patience: int = 30  # epochs without a better valid accuracy before stopping (valid accuracy is noisy)
    augment: bool | None = None  # random stretch, rotation, dropped points; None: on for small data
    mixed_precision: bool = False  # set when a GPU that supports it is used


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        """Raises ValueError naming the problem (bad JSON, missing key, newer version)."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"config is not valid JSON ({error.msg})") from None
        if not isinstance(raw, dict):
            raise ValueError("config is not a JSON object")
        version = raw.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"config format_version {version!r} is not supported by this sketch "
                f"(it reads up to {FORMAT_VERSION}); upgrade sketchrnn_cli"
            )
        return _build(cls, _upgraded(raw, version), "config")


def _upgraded(raw: dict, version: int) -> dict:
    """A config of an older format with the keys added since, valued as the older sketch built it."""
    for added_in, sections in _ADDED_KEYS.items():
        if version < added_in:
            for section, keys in sections.items():
                if isinstance(raw.get(section), dict):
                    raw[section] = {**keys, **raw[section]}
    return raw


def _build(cls, raw, where: str):
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.name not in raw:
            raise ValueError(f"{where} has no key {item.name!r}")
        values[item.name] = _convert(hints[item.name], raw[item.name], f"{where}.{item.name}")
    return cls(**values)


def _convert(hint, value, where: str):
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list")
        item_type = typing.get_args(hint)[0]
        return tuple(_convert(item_type, v, where) for v in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ValueError(f"{where} must be {hint.__name__}, got {value!r}")
    return value

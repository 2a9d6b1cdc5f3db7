"""The one config object of a run: saved as config.json beside the weights, and the only
thing the model is rebuilt from. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field

from .errors import SketchError

FORMAT_VERSION = 9  # bump when keys are added; say in _ADDED_KEYS how older configs read

# Keys each format version added, with the values that rebuild an older run's model as it was.
_ADDED_KEYS: dict[int, dict[str, dict[str, object]]] = {
    2: {"model": {"image_side": 0, "image_filters": [32, 64, 128], "image_units": 128}},
    3: {"data": {"dataset": ""}},
    4: {"train": {"init_from": ""}},
    5: {"train": {"checkpoint_minutes": 10.0}},
    6: {"model": {"temperature": 1.0}},
    7: {"train": {"weight_average": 0.0, "weight_decay": 0.0, "label_smoothing": 0.0}, "model": {"size": "default"}},
    8: {"train": {"balance": 0.0}},
    9: {"model": {"unsure_below": 0.0}},
}

ARCHITECTURES = ("conv-lstm", "conv-gru", "wavenet")
FORMATS = ("simplified", "raw", "npz")  # dataset formats; npz: Sketch-RNN files
CONV_NORMS = ("layer", "batch")
# Model sizes, as what each changes from the default model (README: "Model sizes"). Parameters
# at 345 categories: about 0.22M, 0.76M, 4.0M and 21M (test_model checks them).
SIZES: dict[str, dict[str, object]] = {
    "small": {"conv_filters": (32, 64, 64), "rnn_units": 64, "image_filters": (16, 32, 64), "image_units": 64},
    "default": {},  # 5,000 to a million drawings; what the 10-minute CPU benchmark tunes
    "large": {
        "conv_filters": (128, 256, 256),
        "rnn_units": 256,
        "rnn_layers": 2,
        "image_side": 32,
        "image_units": 256,
    },
    "xl": {  # meant for all 50M drawings of Quick, Draw!, on a GPU
        "conv_filters": (256, 384, 512),
        "rnn_units": 512,
        "rnn_layers": 3,
        "image_side": 64,
        "image_filters": (32, 64, 128, 256),
        "image_units": 512,
    },
}
DEFAULT_MAX_LENGTH = 250  # points kept per drawing; ~99% of simplified drawings fit


class ConfigError(SketchError):
    """A config value out of its bounds, of the wrong type, or an unreadable config.json."""


def bounded(default, low=None, high=None, *, low_open: bool = False, items: int | None = None, choices=None):
    """A field with its one rule: a value (or each item of a tuple, at most ``items`` of them)
    in [low, high] (low excluded when ``low_open``), or one of ``choices``. The command-line
    options read the same rule through ``limits``."""
    rule = {"low": low, "high": high, "low_open": low_open, "items": items, "choices": choices}
    return field(default=default, metadata=rule)


def limits(section, name: str) -> dict:
    """The rule of a field, for a command-line option: {"min", "max", "min_open"}."""
    rule = next(f for f in dataclasses.fields(section) if f.name == name).metadata
    return {"min": rule["low"], "max": rule["high"], "min_open": rule["low_open"]}


class _Checked:
    """Checks every bounded field when the object is made: from options, from config.json,
    or by dataclasses.replace."""

    def __post_init__(self):
        for item in dataclasses.fields(self):
            if item.metadata:
                _check(f"{self._section}.{item.name}", getattr(self, item.name), **item.metadata)


def _check(where: str, value, low, high, low_open, items, choices) -> None:
    if value is None or isinstance(value, bool):
        return
    if choices is not None:
        if value not in choices:
            raise ConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
        return
    if isinstance(value, tuple):
        if not 1 <= len(value) <= items:
            raise ConfigError(f"{where} must have 1 to {items} entries, got {len(value)}")
        for entry in value:
            _check(where, entry, low, high, low_open, None, None)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if value < low or (low_open and value == low) or value > high:
        opening = "(" if low_open else "["
        raise ConfigError(f"{where} must be in {opening}{low:g}, {high:g}], got {value!r}")


@dataclass(frozen=True)
class DataConfig(_Checked):
    _section = "data"
    format: str = bounded("simplified", choices=FORMATS)  # which dataset of the data folder
    labels: tuple[str, ...] = ()  # category names, in the order of the model's outputs
    max_length: int = bounded(
        DEFAULT_MAX_LENGTH, 2, 10_000
    )  # points per drawing fed to the model (longer ones are cut)
    input_scale: float = bounded(1.0, 0.0, 1e6, low_open=True)  # dx, dy times this: 1 / std of train offsets
    dataset: str = ""  # the dataset build trained on (its folder's name); --resume reads the same one

    def __post_init__(self):
        super().__post_init__()
        for label in self.labels:
            if not label or not label.isprintable() or label != label.strip():
                raise ConfigError(f"data.labels has a name that is empty, padded or not printable: {label!r}")
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError("data.labels names a category twice")


@dataclass(frozen=True)
class ModelConfig(_Checked):
    _section = "model"
    arch: str = bounded("conv-lstm", choices=ARCHITECTURES)
    size: str = bounded("default", choices=tuple(SIZES))  # the preset the fields below started from
    conv_filters: tuple[int, ...] = bounded((64, 128, 128), 1, 1024, items=8)  # one Conv1D layer per entry
    conv_kernel: int = bounded(5, 1, 31)
    conv_strides: tuple[int, ...] = bounded((1, 2, 2), 1, 4, items=8)  # strides shorten the sequence for the RNN
    conv_norm: str = bounded("layer", choices=CONV_NORMS)  # normalisation after each Conv1D
    positions: bool = True  # also feed absolute x, y (running sums of the offsets)
    rnn_units: int = bounded(128, 1, 2048)
    rnn_layers: int = bounded(1, 1, 8)
    bidirectional: bool = True
    layer_norm: bool = False  # LayerNormalization after each recurrent layer
    dropout: float = bounded(0.2, 0.0, 0.95)  # before the classifier (never recurrent_dropout: it disables cuDNN)
    wavenet_dilations: tuple[int, ...] = bounded((1, 2, 4, 8, 16), 1, 512, items=16)  # one block, repeated
    wavenet_stacks: int = bounded(2, 1, 8)
    per_step_loss: bool = True  # a class at every real step, loss over all of them
    image_side: int = bounded(28, 0, 64)  # > 0: the drawing also drawn as a side x side image, for a small CNN
    image_filters: tuple[int, ...] = bounded((32, 64, 128), 1, 512, items=6)  # one Conv2D + 2x2 max pool each
    image_units: int = bounded(128, 1, 2048)  # the image's features, given to the classifier at every step
    # Fitted on the valid split when training ends: the output is p^(1/T), renormalised (1: as trained).
    temperature: float = bounded(1.0, 0.01, 100.0)
    # Chosen on the valid split when training ends (metrics.unsure_threshold): a top guess below
    # this probability is shown as unsure, as the game said "I'm not sure what that is" (0: never).
    unsure_below: float = bounded(0.0, 0.0, 1.0)

    @classmethod
    def sized(
        cls, size: str = "default", conv_filters: tuple[int, ...] | None = None, conv_strides=None, **choices
    ) -> ModelConfig:
        """A config from command-line choices: the preset ``size``, with each choice that is not
        None instead of the preset's. Widths given without strides get stride 1 each (the
        preset's strides may not fit them)."""
        if size not in SIZES:
            raise ConfigError(f"model.size must be one of {', '.join(SIZES)}, got {size!r}")
        fields = {**SIZES[size], **{name: value for name, value in choices.items() if value is not None}}
        if conv_filters is not None:
            fields["conv_filters"] = conv_filters
            fields["conv_strides"] = conv_strides or (1,) * len(conv_filters)
        elif conv_strides is not None:
            fields["conv_strides"] = conv_strides
        return cls(size=size, **fields)


@dataclass(frozen=True)
class TrainConfig(_Checked):
    _section = "train"
    epochs: int = bounded(100, 1, 100_000)
    batch_size: int = bounded(0, 0, 8192)  # 0: auto (schedule.auto_batch_size); config.json holds the number
    learning_rate: float = bounded(3e-3, 0.0, 1.0, low_open=True)
    seed: int = bounded(0, 0, 2**32 - 1)
    max_minutes: float | None = bounded(None, 0.0, 525_600.0, low_open=True)  # stop after the epoch that crosses this
    patience: int = bounded(30, 1, 100_000)  # epochs without a better valid accuracy before stopping
    augment: bool | None = None  # random stretch, rotation, dropped points; None: on for small data
    init_from: str = ""  # a trained run whose weights this run started from
    checkpoint_minutes: float = bounded(10.0, 0.0, 1440.0, low_open=True)  # also between epoch ends
    # Momentum of the moving average of the weights, which is what is validated and kept (0: the
    # weights as trained): one noisy step or epoch of a high learning rate cannot be what is kept.
    weight_average: float = bounded(0.998, 0.0, 0.99999)
    weight_decay: float = bounded(0.05, 0.0, 1.0)  # decoupled (AdamW): each step, weights shrink by lr x this
    label_smoothing: float = bounded(0.1, 0.0, 0.5)  # targets 1 - s on the label, s / classes on each category
    # Categories under this share of the median category's train drawings are repeated up to it
    # each epoch (pipeline.balanced_rows): your own few drawings weigh as much as a category.
    balance: float = bounded(1.0, 0.0, 1.0)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Raises ConfigError naming the problem (bad JSON, missing key, newer version, a value
        out of its bounds)."""
        raw = parse_json(text, "config")
        if not isinstance(raw, dict):
            raise ConfigError("config is not a JSON object")
        version = raw.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ConfigError(
                f"config format_version {version!r} is not supported by this sketch "
                f"(it reads up to {FORMAT_VERSION}); upgrade sketchrnn_cli"
            )
        return _build(cls, _upgraded(raw, version), "config")


def parse_json(text: str, what: str):
    """JSON text -> value; ConfigError for bad or absurdly nested JSON (json.loads recurses)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{what} is not valid JSON ({error.msg})") from None
    except RecursionError:
        raise ConfigError(f"{what} is nested too deeply to be ours") from None


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
        raise ConfigError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.name not in raw:
            raise ConfigError(f"{where} has no key {item.name!r}")
        values[item.name] = _convert(hints[item.name], raw[item.name], f"{where}.{item.name}")
    return cls(**values)


def _convert(hint, value, where: str):
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        item_type = typing.get_args(hint)[0]
        return tuple(_convert(item_type, v, where) for v in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def answers_digest(config: RunConfig) -> str:
    """What a model file's answers depend on, as 16 hex digits: the labels in output order, the
    input (max length, scale) and every model field, the temperature included. Written into every
    model file made from the run (provenance.py), so a file of another run is never taken for
    this one's; the train section is left out, as it changes nothing a model answers."""
    import hashlib

    model = dataclasses.asdict(config.model)
    del model["unsure_below"]  # how the answers are shown, not what they are: a user may tune it
    answers = {
        "labels": list(config.data.labels),
        "max_length": config.data.max_length,
        "input_scale": config.data.input_scale,
        "model": model,
    }
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:16]

"""build_model(config, num_classes) -> keras.Model: Conv1D layers, then recurrent layers, then softmax.

Inputs: ``strokes`` float32 [batch, time, 3], right-padded with zeros, and ``length`` int32
[batch], the real steps of each drawing. Output: class probabilities [batch, classes].

Padding never changes a prediction:
* Conv1D drops Keras masks, so every conv layer is followed by zeroing the padded steps,
  and padding is a fixed zero border (not "same", whose left border depends on the padded
  length), so a real step sees the same window whatever padding follows the drawing.
* Strided convs shorten the sequence; the real length becomes ceil(length / stride).
* The recurrent layers get the mask built from those lengths (right-padded, so cuDNN
  accepts it), and pooling reads real steps only.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .config import ARCHITECTURES, ModelConfig


class _Unmasked(layers.Layer):
    """Takes the mask as an explicit input; swallows any Keras mask attached to its inputs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, *args, **kwargs):
        return None


@keras.saving.register_keras_serializable(package="sketchrnn")
class StrokeFeatures(_Unmasked):
    """(dx, dy, pen) -> (dx * scale, dy * scale, pen[, x, y]) with zeros on padded steps.

    ``scale`` is 1 / std of the train split's offsets. x, y are the running sums of the
    offsets: where the pen is, in the unit box centred on 0, which convs cannot see from
    offsets alone.
    """

    def __init__(self, scale: float, positions: bool, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.positions = bool(positions)

    def call(self, strokes, mask):
        features = [strokes[..., :2] * self.scale, strokes[..., 2:]]
        if self.positions:
            features.append(ops.cumsum(strokes[..., :2], axis=1) - 0.5)
        return ops.concatenate(features, axis=-1) * ops.cast(mask, strokes.dtype)[..., None]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "positions": self.positions}


@keras.saving.register_keras_serializable(package="sketchrnn")
class StepMask(_Unmasked):
    """Lengths [batch] and a sequence [batch, time', ...] shortened by ``stride`` -> bool mask."""

    def __init__(self, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, sequence, length):
        steps = ops.shape(sequence)[1]
        real = (ops.cast(length, "int32") + self.stride - 1) // self.stride
        return ops.arange(steps)[None, :] < real[:, None]

    def compute_output_spec(self, sequence, length):
        return keras.KerasTensor(sequence.shape[:2], dtype="bool")

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="sketchrnn")
class ZeroPadded(_Unmasked):
    """Sets padded steps to zero, as they were before a conv layer turned them into bias."""

    def call(self, sequence, mask):
        return sequence * ops.cast(mask, sequence.dtype)[..., None]


@keras.saving.register_keras_serializable(package="sketchrnn")
class MaskedMeanMax(_Unmasked):
    """Mean and max over real steps only, concatenated."""

    def call(self, sequence, mask):
        weights = ops.cast(mask, sequence.dtype)[..., None]
        mean = ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        lowest = ops.cast(-1e4, sequence.dtype)
        maximum = ops.max(ops.where(weights > 0, sequence, lowest), axis=1)
        return ops.concatenate([mean, maximum], axis=-1)


def build_model(config: ModelConfig, num_classes: int, input_scale: float = 1.0) -> keras.Model:
    if config.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {config.arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    strokes = keras.Input(shape=(None, 3), name="strokes")
    length = keras.Input(shape=(), dtype="int32", name="length")
    x = StrokeFeatures(input_scale, config.positions, name="features")(strokes, StepMask(1, name="mask")(strokes, length))
    if config.arch == "wavenet":
        x, mask = _wavenet_stack(x, length, config)
    else:
        x, mask = _conv_stack(x, length, config)
        x = _recurrent_stack(x, mask, config, layers.LSTM if config.arch == "conv-lstm" else layers.GRU)
    if config.per_step_loss:
        probabilities = _per_step_head(x, mask, config, num_classes)
    else:
        probabilities = _pooled_head(x, mask, config, num_classes)
    return keras.Model({"strokes": strokes, "length": length}, probabilities, name=config.arch.replace("-", "_"))


def _conv_stack(x, length, config: ModelConfig):
    if len(config.conv_strides) != len(config.conv_filters):
        raise ValueError("conv_strides needs one entry per conv_filters entry")
    stride = 1
    for index, (filters, step) in enumerate(zip(config.conv_filters, config.conv_strides)):
        x = layers.ZeroPadding1D(config.conv_kernel // 2, name=f"conv{index}_border")(x)
        x = layers.Conv1D(filters, config.conv_kernel, strides=step, padding="valid", name=f"conv{index}")(x)
        x = _normalization(config.conv_norm, f"conv{index}_norm")(x)
        x = layers.Activation("relu", name=f"conv{index}_relu")(x)
        stride *= step
        mask = StepMask(stride, name=f"conv{index}_mask")(x, length)
        x = ZeroPadded(name=f"conv{index}_zero_padding")(x, mask)
    return x, mask


def _normalization(kind: str, name: str):
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    raise ValueError(f"unknown conv_norm {kind!r}; choose batch or layer")


def _recurrent_stack(x, mask, config: ModelConfig, cell_layer):
    # tanh/sigmoid, no recurrent_dropout, unroll=False: the cuDNN kernel stays eligible.
    for index in range(config.rnn_layers):
        recurrent = cell_layer(config.rnn_units, return_sequences=True, name=f"rnn{index}")
        if config.bidirectional:
            recurrent = layers.Bidirectional(recurrent, name=f"birnn{index}")
        x = recurrent(x, mask=mask)
        if config.layer_norm:
            x = layers.LayerNormalization(name=f"rnn{index}_norm")(x)
    return x


def _wavenet_stack(x, length, config: ModelConfig):
    """Dilated causal convs (1, 2, 4, ... repeated), gated, with residual and skip paths."""
    width = config.conv_filters[-1]
    mask = StepMask(1, name="wavenet_mask")(x, length)
    x = layers.Conv1D(width, 1, name="wavenet_in")(x)
    skips = []
    for stack in range(config.wavenet_stacks):
        for dilation in config.wavenet_dilations:
            name = f"wavenet{stack}_d{dilation}"
            conv = layers.Conv1D(2 * width, 2, dilation_rate=dilation, padding="causal", name=name)(x)
            gated = layers.Multiply(name=f"{name}_gate")([
                layers.Activation("tanh")(conv[..., :width]),
                layers.Activation("sigmoid")(conv[..., width:]),
            ])
            skips.append(layers.Conv1D(width, 1, name=f"{name}_skip")(gated))
            x = layers.Add(name=f"{name}_residual")([x, layers.Conv1D(width, 1, name=f"{name}_res")(gated)])
    x = layers.Activation("relu", name="wavenet_skips")(layers.Add()(skips))
    return ZeroPadded(name="wavenet_zero_padding")(x, mask), mask


def _pooled_head(x, mask, config: ModelConfig, num_classes: int):
    x = MaskedMeanMax(name="pool")(x, mask)
    x = layers.Dropout(config.dropout, name="dropout")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="classes")(x)


def _per_step_head(x, mask, config: ModelConfig, num_classes: int):
    """A class at every step (Dense applies per step); the drawing's answer is their mean."""
    x = layers.Dropout(config.dropout, name="dropout")(x)
    steps = layers.Dense(num_classes, activation="softmax", dtype="float32", name="step_classes")(x)
    return MaskedMean(name="classes")(steps, mask)


@keras.saving.register_keras_serializable(package="sketchrnn")
class MaskedMean(_Unmasked):
    def call(self, sequence, mask):
        weights = ops.cast(mask, sequence.dtype)[..., None]
        return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

"""build(config, num_classes) -> Classifier: Conv1D layers, then recurrent layers, then softmax;
beside them (``image_side`` > 0) the drawing drawn as a small image through a small CNN,
whose features the classifier sees at every step.

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

import math
from dataclasses import dataclass

import keras
from keras import layers, ops

from ..config import ConfigError, ModelConfig
from ..data.strokes import steps_after_stride

CLASS_LAYERS = ("classes", "step_classes")  # the layers with one output per category


@dataclass(frozen=True)
class Classifier:
    """What the trainer needs to know of a model, and nothing about its architecture."""

    model: keras.Model  # drawings -> class probabilities [batch, classes]: what is saved and served
    trainer: keras.Model  # what fit trains: per-step probabilities [batch, steps, classes], or ``model``
    stride: int  # input steps per step of ``trainer``'s output (per-step targets are repeated per step)

    @property
    def per_step(self) -> bool:
        """Whether the trainer answers at every step (its targets: the label at every step)."""
        return self.trainer is not self.model


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
        real = steps_after_stride(ops.cast(length, "int32"), self.stride)
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
        mean = masked_mean(sequence, weights)
        lowest = ops.cast(-1e4, sequence.dtype)
        maximum = ops.max(ops.where(weights > 0, sequence, lowest), axis=1)
        return ops.concatenate([mean, maximum], axis=-1)


@keras.saving.register_keras_serializable(package="sketchrnn")
class Rasterize(_Unmasked):
    """Stroke-3 [batch, time, 3] -> [batch, side, side, 1]: the drawing's lines as an image.

    Drawn inside the model, so the inputs stay (strokes, length) everywhere, augmentation
    included. A pixel's value falls off with its distance to the nearest drawn segment
    (exp(-d^2 / 2 sigma^2), sigma half a pixel): anti-aliased lines, plain tensor ops that
    LiteRT runs. Pen-up moves are not drawn; a lone point is a dot.
    """

    def __init__(self, side: int, **kwargs):
        super().__init__(**kwargs)
        self.side = int(side)

    def call(self, strokes, mask):
        # Pixel units, with a one-pixel border: the unit box becomes [1, side - 1].
        start = ops.cumsum(strokes[..., :2], axis=1) * (self.side - 2) + 1
        following = ops.concatenate([start[:, 1:], start[:, -1:]], axis=1)
        next_real = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
        on_paper = ops.logical_and(strokes[..., 2] < 0.5, next_real)[..., None]
        direction = ops.where(on_paper, following - start, 0.0)  # to the next point, or a dot
        # Per segment a and direction d, per pixel centre c, as [batch, steps, pixels] products
        # of small matrices (the big tensors are what costs): c.d - a.d and |c - a|^2, to which
        # padded steps add a distance no pixel is at.
        centres = self._centres(strokes.dtype)  # [4, pixels]: cx, cy, 1, |c|^2
        a_dot_d = ops.sum(start * direction, axis=-1, keepdims=True)
        far = ops.where(mask[..., None], 0.0, 1e4)
        along_unscaled = ops.matmul(ops.concatenate([direction, -a_dot_d, ops.zeros_like(a_dot_d)], axis=-1), centres)
        to_start2 = ops.matmul(
            ops.concatenate(
                [-2 * start, ops.sum(ops.square(start), axis=-1, keepdims=True) + far, ops.ones_like(a_dot_d)], axis=-1
            ),
            centres,
        )
        length2 = ops.sum(ops.square(direction), axis=-1, keepdims=True)
        along = ops.clip(along_unscaled / ops.maximum(length2, 1e-6), 0.0, 1.0)
        # |c - (a + t d)|^2 = |c - a|^2 - t (2 (c - a).d - t |d|^2)
        distance2 = to_start2 - along * (2 * along_unscaled - along * length2)
        image = ops.exp(-2.0 * ops.maximum(ops.min(distance2, axis=1), 0.0))
        return ops.reshape(image, (-1, self.side, self.side, 1))

    def _centres(self, dtype):
        centres = ops.arange(self.side, dtype=dtype) + 0.5
        x = ops.tile(centres, [self.side])  # row by row: x varies fastest
        y = ops.repeat(centres, self.side)
        return ops.stack([x, y, ops.ones_like(x), x * x + y * y])

    def compute_output_spec(self, strokes, mask):
        return keras.KerasTensor((strokes.shape[0], self.side, self.side, 1), dtype=strokes.dtype)

    def get_config(self):
        return {**super().get_config(), "side": self.side}


@keras.saving.register_keras_serializable(package="sketchrnn")
class BesideEachStep(_Unmasked):
    """[batch, time, a] and [batch, b] -> [batch, time, a + b]: the vector repeated at every step."""

    def call(self, sequence, vector):
        repeated = ops.cast(vector[:, None, :], sequence.dtype) * ops.ones_like(sequence[..., :1])
        return ops.concatenate([sequence, repeated], axis=-1)

    def compute_output_spec(self, sequence, vector):
        return keras.KerasTensor((*sequence.shape[:2], sequence.shape[2] + vector.shape[1]), dtype=sequence.dtype)


def build_model(config: ModelConfig, num_classes: int, input_scale: float = 1.0) -> keras.Model:
    """The drawing-level model alone: what is saved, loaded, evaluated and served."""
    return build(config, num_classes, input_scale).model


def build(config: ModelConfig, num_classes: int, input_scale: float = 1.0) -> Classifier:
    strokes = keras.Input(shape=(None, 3), name="strokes")
    length = keras.Input(shape=(), dtype="int32", name="length")
    step_mask = StepMask(1, name="mask")(strokes, length)
    x = StrokeFeatures(input_scale, config.positions, name="features")(strokes, step_mask)
    if config.arch == "wavenet":
        x, mask = _wavenet_stack(x, length, config)
    else:
        x, mask = _conv_stack(x, length, config)
        x = _recurrent_stack(x, mask, config, layers.LSTM if config.arch == "conv-lstm" else layers.GRU)
    if config.image_side:
        x = BesideEachStep(name="with_image")(x, _image_branch(strokes, step_mask, config))
    inputs = {"strokes": strokes, "length": length}
    name = config.arch.replace("-", "_")
    if not config.per_step_loss:
        pooled = _pooled_head(x, mask, config, num_classes)
        model = keras.Model(inputs, _calibrated(pooled, config), name=name)
        return Classifier(model, model if config.temperature == 1.0 else keras.Model(inputs, pooled), stride=1)
    steps, probabilities = _per_step_head(x, mask, config, num_classes)
    model = keras.Model(inputs, _calibrated(probabilities, config), name=name)
    return Classifier(model, keras.Model(inputs, steps, name="per_step"), stride=output_stride(config))


def _calibrated(probabilities, config: ModelConfig):
    """The temperature inside the model, so every engine and export carries it (none at T = 1)."""
    if config.temperature == 1.0:
        return probabilities
    return Calibrated(config.temperature, dtype="float32", name="calibrated")(probabilities)


def output_stride(config: ModelConfig) -> int:
    """Input steps per step of the recurrent (or WaveNet) output."""
    return 1 if config.arch == "wavenet" else math.prod(config.conv_strides)


def _conv_stack(x, length, config: ModelConfig):
    if len(config.conv_strides) != len(config.conv_filters):
        raise ConfigError("conv_strides needs one entry per conv_filters entry")
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
    """kind is one of config.CONV_NORMS (ModelConfig checks it)."""
    return layers.BatchNormalization(name=name) if kind == "batch" else layers.LayerNormalization(name=name)


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
            gated = layers.Multiply(name=f"{name}_gate")(
                [
                    layers.Activation("tanh")(conv[..., :width]),
                    layers.Activation("sigmoid")(conv[..., width:]),
                ]
            )
            skips.append(layers.Conv1D(width, 1, name=f"{name}_skip")(gated))
            x = layers.Add(name=f"{name}_residual")([x, layers.Conv1D(width, 1, name=f"{name}_res")(gated)])
    x = layers.Activation("relu", name="wavenet_skips")(layers.Add()(skips))
    return ZeroPadded(name="wavenet_zero_padding")(x, mask), mask


def _image_branch(strokes, step_mask, config: ModelConfig):
    """The drawing as an image, through a small CNN: what the whole looks like at once."""
    if config.image_side < 2 ** len(config.image_filters):
        raise ConfigError(
            f"image_side {config.image_side} is too small for {len(config.image_filters)} "
            f"2x2 poolings; use at least {2 ** len(config.image_filters)}, or 0 for no image"
        )
    # float32 even under mixed precision: pen positions are running sums of many offsets.
    x = Rasterize(config.image_side, dtype="float32", name="image")(strokes, step_mask)
    for index, filters in enumerate(config.image_filters):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"image_conv{index}")(x)
        x = layers.MaxPooling2D(name=f"image_pool{index}")(x)
    x = layers.Flatten(name="image_flat")(x)
    return layers.Dense(config.image_units, activation="relu", name="image_features")(x)


def _pooled_head(x, mask, config: ModelConfig, num_classes: int):
    x = MaskedMeanMax(name="pool")(x, mask)
    x = layers.Dropout(config.dropout, name="dropout")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="classes")(x)


def _per_step_head(x, mask, config: ModelConfig, num_classes: int):
    """A class at every step (Dense applies per step); the drawing's answer is their mean."""
    x = layers.Dropout(config.dropout, name="dropout")(x)
    steps = layers.Dense(num_classes, activation="softmax", dtype="float32", name="step_classes")(x)
    return steps, MaskedMean(name="classes")(steps, mask)


@keras.saving.register_keras_serializable(package="sketchrnn")
class Calibrated(layers.Layer):
    """Probabilities p -> p^(1/T), renormalised: softmax(log p / T). The output is a mean of
    per-step softmaxes, not logits, so the temperature applies to its logarithm."""

    def __init__(self, temperature: float, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, probabilities):
        return ops.softmax(ops.log(ops.maximum(probabilities, 1e-12)) / self.temperature, axis=-1)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


def masked_mean(sequence, weights):
    """Mean over the steps whose weight is 1 (at least one step counted)."""
    return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)


@keras.saving.register_keras_serializable(package="sketchrnn")
class MaskedMean(_Unmasked):
    """Mean over real steps only."""

    def call(self, sequence, mask):
        return masked_mean(sequence, ops.cast(mask, sequence.dtype)[..., None])

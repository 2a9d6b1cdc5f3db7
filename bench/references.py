"""Three published Quick, Draw! classifiers, re-expressed in Keras 3 for bench_train.py.

Each takes our stroke-3 dataset and turns it into the input its authors used:

* tutorial: TensorFlow's "Recurrent Neural Networks for Drawing Classification" tutorial.
  Each axis scaled to [0, 1] on its own, offsets with the first point dropped, pen bit 1 on
  the last point of a stroke; Conv1D 48/64/96 (widths 5/5/3), 3 bidirectional LSTM 128,
  outputs summed over real steps, Adam 1e-4, batch 8.
* homl: Hands-On Machine Learning (2nd ed.) chapter 15, exercise 10 solution: the tutorial's
  inputs, three strided Conv1D + BatchNorm of 32/64/128 ("same" padding, so short drawings
  keep a step), two LSTM of 128, SGD 1e-2
  (clipnorm 1), no masking.
* raster: a small image CNN, standing for the raster models that won the Kaggle
  competition: each drawing rendered to 28 x 28, three Conv2D blocks of 32/64/128,
  dense 256, Adam 1e-3.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from sketchrnn_cli.model.model import StepMask

IMAGE_SIDE = 28


def tutorial_features(sequence: np.ndarray) -> np.ndarray:
    """Our stroke-3 -> the tutorial's [N-1, 3]: per-axis [0, 1], offsets, first point dropped."""
    points = np.cumsum(sequence[:, :2], axis=0)
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    points = (points - low) / np.where(span > 0, span, 1.0)
    offsets = np.diff(points, axis=0)
    return np.column_stack([offsets, sequence[1:, 2]]).astype(np.float32)


def rasterize(sequence: np.ndarray, side: int = IMAGE_SIDE) -> np.ndarray:
    """Our stroke-3 -> a [side, side, 1] float image of its lines (aspect kept)."""
    image = np.zeros((side, side), dtype=np.float32)
    points = np.cumsum(sequence[:, :2].astype(np.float64), axis=0) * (side - 3) + 1
    ends = np.flatnonzero(sequence[:, 2] > 0.5) + 1
    for stroke in np.split(points, ends):
        for start, end in zip(stroke, stroke[1:] if len(stroke) > 1 else stroke):
            steps = int(np.abs(end - start).max() * 2) + 2
            line = np.linspace(start, end, steps).round().astype(int)
            image[np.clip(line[:, 1], 0, side - 1), np.clip(line[:, 0], 0, side - 1)] = 1.0
    return image[..., None]


class SumOverRealSteps(layers.Layer):
    def call(self, sequence, mask):
        return ops.sum(sequence * ops.cast(mask, sequence.dtype)[..., None], axis=1)

    def compute_mask(self, *args, **kwargs):
        return None


def tutorial_model(num_classes: int) -> keras.Model:
    strokes = keras.Input((None, 3), name="strokes")
    length = keras.Input((), dtype="int32", name="length")
    x = strokes
    for filters, width in ((48, 5), (64, 5), (96, 3)):
        x = layers.Conv1D(filters, width, padding="same")(x)
    mask = StepMask(1)(x, length)
    for _ in range(3):
        x = layers.Bidirectional(layers.LSTM(128, return_sequences=True))(x, mask=mask)
    x = SumOverRealSteps()(x, mask)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model({"strokes": strokes, "length": length}, outputs)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def homl_model(num_classes: int) -> keras.Model:
    strokes = keras.Input((None, 3), name="strokes")
    length = keras.Input((), dtype="int32", name="length")  # unused: the solution does not mask
    x = strokes
    for filters, width in ((32, 5), (64, 5), (128, 3)):
        x = layers.Conv1D(filters, width, strides=2, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
    x = layers.LSTM(128, return_sequences=True)(x)
    x = layers.LSTM(128)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model({"strokes": strokes, "length": length}, outputs)
    model.compile(keras.optimizers.SGD(1e-2, clipnorm=1.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def raster_model(num_classes: int) -> keras.Model:
    image = keras.Input((IMAGE_SIDE, IMAGE_SIDE, 1), name="image")
    x = image
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(image, outputs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


REFERENCES = {
    # name: (model builder, input kind, batch size)
    "TF tutorial (Conv1D + 3 BiLSTM)": (tutorial_model, "tutorial", 8),
    "Hands-On ML ch. 15 (strided Conv1D + 2 LSTM)": (homl_model, "tutorial", 32),
    "raster CNN 28x28 (Kaggle-style image model)": (raster_model, "raster", 64),
}

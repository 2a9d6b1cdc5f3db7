"""Each architecture builds, runs on padded batches, and ignores right-padding."""

import numpy as np
import pytest

from sketchrnn_cli.config import SIZES, ConfigError, ModelConfig
from sketchrnn_cli.data.strokes import parse_drawing
from sketchrnn_cli.model.model import Rasterize, build_model

SMALL = dict(
    conv_filters=(8, 12),
    conv_strides=(1, 2),
    rnn_units=8,
    wavenet_dilations=(1, 2, 4),
    wavenet_stacks=1,
    image_side=12,
    image_filters=(4, 8),
    image_units=8,
)
CONFIGS = {
    "conv-lstm": ModelConfig(arch="conv-lstm", **SMALL),
    "conv-gru": ModelConfig(arch="conv-gru", layer_norm=True, **SMALL),
    "wavenet": ModelConfig(arch="wavenet", **SMALL),
    "conv-lstm pooled, batch norm": ModelConfig(arch="conv-lstm", per_step_loss=False, conv_norm="batch", **SMALL),
    "conv-lstm offsets only": ModelConfig(arch="conv-lstm", positions=False, **SMALL),
    "conv-lstm strokes only (no image)": ModelConfig(arch="conv-lstm", **{**SMALL, "image_side": 0}),
    "conv-lstm strided x4, 2 layers": ModelConfig(
        arch="conv-lstm", conv_filters=(8, 8, 8), conv_strides=(1, 2, 2), rnn_units=8, rnn_layers=2
    ),
}


def drawing(points: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xs, ys = rng.integers(0, 255, points).tolist(), rng.integers(0, 255, points).tolist()
    half = points // 2
    return parse_drawing([[xs[:half], ys[:half]], [xs[half:], ys[half:]]])


def padded(sequences, steps):
    batch = np.zeros((len(sequences), steps, 3), np.float32)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return {"strokes": batch, "length": np.array([len(s) for s in sequences], np.int32)}


@pytest.mark.parametrize("name", CONFIGS)
def test_forward_pass_on_a_padded_batch_gives_probabilities(name):
    model = build_model(CONFIGS[name], num_classes=5, input_scale=4.0)
    sequences = [drawing(n, n) for n in (5, 17, 30)]
    probabilities = np.asarray(model(padded(sequences, 32), training=False))
    assert probabilities.shape == (3, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", CONFIGS)
def test_right_padding_does_not_change_the_prediction(name):
    model = build_model(CONFIGS[name], num_classes=5, input_scale=4.0)
    sequences = [drawing(n, n) for n in (7, 13, 21)]
    tight = np.asarray(model(padded(sequences, 21), training=False))
    for steps in (22, 40, 97):
        loose = np.asarray(model(padded(sequences, steps), training=False))
        np.testing.assert_allclose(loose, tight, atol=1e-5)
    alone = np.asarray(model(padded(sequences[:1], 7), training=False))
    np.testing.assert_allclose(alone[0], tight[0], atol=1e-5)


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ConfigError, match="model.arch must be one of conv-lstm, conv-gru, wavenet, got 'transformer'"):
        ModelConfig(arch="transformer")


def test_recurrent_layers_stay_cudnn_eligible():
    model = build_model(CONFIGS["conv-lstm strided x4, 2 layers"], 3)
    recurrent = [layer.forward_layer for layer in model.layers if layer.name.startswith("birnn")]
    assert len(recurrent) == 2
    for layer in recurrent:
        assert layer.activation.__name__ == "tanh" and layer.recurrent_activation.__name__ == "sigmoid"
        assert layer.recurrent_dropout == 0 and not layer.unroll and layer.use_bias


def test_too_small_an_image_is_a_clear_error():
    with pytest.raises(ConfigError, match="image_side 4 is too small for 3 2x2 poolings"):
        build_model(ModelConfig(image_side=4), 3)


def draw(drawing, side=16, padding=0):
    """A Quick, Draw! drawing through Rasterize -> [side, side] image."""
    sequence = parse_drawing(drawing)
    batch = padded([sequence], len(sequence) + padding)
    mask = np.arange(batch["strokes"].shape[1])[None, :] < batch["length"][:, None]
    return np.asarray(Rasterize(side)(batch["strokes"], mask))[0, :, :, 0]


def test_rasterize_draws_the_lines_and_not_the_pen_up_moves():
    # A top edge, then (pen lifted) a bottom edge; the drawing spans the whole box.
    image = draw([[[0, 255], [0, 0]], [[0, 255], [255, 255]]])
    top, bottom = image[1, 1:-1], image[-2, 1:-1]  # the unit box is drawn with a one-pixel border
    assert top.min() > 0.5 and bottom.min() > 0.5
    assert image[4:-4].max() < 0.01  # nothing between them: the pen-up move is not a line
    assert image.min() >= 0 and image.max() <= 1


def test_rasterize_draws_a_lone_point_as_a_dot():
    image = draw([[[0, 255], [0, 255]], [[128], [128]]])  # a diagonal, then a single tap
    assert image[8, 8] > 0.5  # on the diagonal and the tap
    assert image[3, 12] < 0.01  # off both


def test_rasterize_ignores_padding():
    drawing = [[[10, 200, 120], [30, 40, 255]], [[0, 90], [0, 70]]]
    np.testing.assert_array_equal(draw(drawing, padding=0), draw(drawing, padding=9))


# Each size's parameters at all 345 categories of Quick, Draw! (README: Model sizes).
PARAMETERS_AT_345 = {"small": 224_857, "default": 761_689, "large": 4_004_697, "xl": 21_289_689}


@pytest.mark.parametrize("size", SIZES)
def test_each_size_builds_with_its_parameter_count(size):
    config = ModelConfig.sized(size)
    assert config.size == size
    assert build_model(config, 345).count_params() == PARAMETERS_AT_345[size]


def test_the_default_size_is_the_default_model_and_options_change_single_parts_of_a_size():
    assert ModelConfig.sized("default") == ModelConfig()
    assert ModelConfig.sized("small", rnn_units=None) == ModelConfig.sized("small")  # None: the size's own
    large = ModelConfig.sized("large", rnn_units=100, conv_filters=(8, 8))
    assert (large.size, large.rnn_units, large.rnn_layers, large.image_side) == ("large", 100, 2, 32)
    assert large.conv_strides == (1, 1)  # widths given without strides: stride 1 each


def test_an_unknown_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="model.size must be one of small, default, large, xl, got 'huge'"):
        ModelConfig.sized("huge")

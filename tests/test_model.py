"""Each architecture builds, runs on padded batches, and ignores right-padding."""

import numpy as np
import pytest

from sketchrnn_cli.config import ModelConfig
from sketchrnn_cli.model import build_model
from sketchrnn_cli.strokes import parse_drawing

SMALL = dict(conv_filters=(8, 12), conv_strides=(1, 2), rnn_units=8, wavenet_dilations=(1, 2, 4), wavenet_stacks=1)
CONFIGS = {
    "conv-lstm": ModelConfig(arch="conv-lstm", **SMALL),
    "conv-gru": ModelConfig(arch="conv-gru", layer_norm=True, **SMALL),
    "wavenet": ModelConfig(arch="wavenet", **SMALL),
    "conv-lstm pooled, batch norm": ModelConfig(arch="conv-lstm", per_step_loss=False, conv_norm="batch", **SMALL),
    "conv-lstm offsets only": ModelConfig(arch="conv-lstm", positions=False, **SMALL),
    "conv-lstm strided x4, 2 layers": ModelConfig(arch="conv-lstm", conv_filters=(8, 8, 8), conv_strides=(1, 2, 2),
                                                   rnn_units=8, rnn_layers=2),
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
    with pytest.raises(ValueError, match="unknown architecture 'transformer'"):
        build_model(ModelConfig(arch="transformer"), 3)


def test_recurrent_layers_stay_cudnn_eligible():
    model = build_model(CONFIGS["conv-lstm strided x4, 2 layers"], 3)
    recurrent = [layer.forward_layer for layer in model.layers if layer.name.startswith("birnn")]
    assert len(recurrent) == 2
    for layer in recurrent:
        assert layer.activation.__name__ == "tanh" and layer.recurrent_activation.__name__ == "sigmoid"
        assert layer.recurrent_dropout == 0 and not layer.unroll and layer.use_bias

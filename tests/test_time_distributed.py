"""TimeDistributed: fold time into the batch, apply the inner layer, unfold."""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import activations, layers
from minikeras.utils import check_layer_gradients

RNG = np.random.default_rng(1)


def test_dense_gradients_and_weights(float64):
    td = layers.TimeDistributed(layers.Dense(3, activation="tanh"))
    x = RNG.standard_normal((2, 4, 5))
    report = check_layer_gradients(td, x, max_entries=20)
    assert "input0" in report
    assert [w.shape for w in td.get_weights()] == [(5, 3), (3,)]
    assert td.weights == td.layer.weights
    assert td.name == "time_distributed"


def test_dense_equals_per_step_application(float64):
    dense = layers.Dense(3)
    td = layers.TimeDistributed(dense)
    x = RNG.standard_normal((2, 4, 5))
    y = td(x)
    assert y.shape == (2, 4, 3)
    for t in range(4):
        np.testing.assert_allclose(y[:, t], dense(x[:, t]))
    assert td.compute_output_shape((None, 4, 5)) == (None, 4, 3)


def test_logits_pass_through(float64):
    td = layers.TimeDistributed(layers.Dense(4, activation="softmax"))
    x = RNG.standard_normal((2, 3, 5))
    y = td(x)
    z = td.output_logits()
    assert z.shape == (2, 3, 4)
    np.testing.assert_allclose(activations.softmax(z), y)
    dz = RNG.standard_normal(z.shape)
    dx = td.backward_from_logits(dz)
    np.testing.assert_allclose(dx, dz @ td.layer.kernel.value.T)
    assert layers.TimeDistributed(layers.Dense(2)).output_logits() is None


def test_conv2d_inside(float64):
    conv_mod = pytest.importorskip("minikeras.layers.convolutional")
    td = layers.TimeDistributed(conv_mod.Conv2D(2, (3, 3), padding="same"))
    x = RNG.standard_normal((2, 3, 5, 5, 1))
    assert td.compute_output_shape((None, 3, 5, 5, 1)) == (None, 3, 5, 5, 2)
    check_layer_gradients(td, x, max_entries=15)


def test_after_lstm_gradients(float64):
    lstm = layers.LSTM(3, return_sequences=True)
    td = layers.TimeDistributed(layers.Dense(1))
    x = RNG.standard_normal((2, 4, 1))
    h = lstm(x)
    check_layer_gradients(td, h, max_entries=10)


def test_errors_and_config():
    with pytest.raises(ValueError, match="time_distributed.*min_ndim=3"):
        layers.TimeDistributed(layers.Dense(2))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Layer"):
        layers.TimeDistributed("dense")
    td = layers.TimeDistributed(layers.Dense(2, activation="relu"))
    clone = layers.TimeDistributed.from_config(td.get_config())
    assert clone.layer.units == 2 and clone.layer.activation.name == "relu"

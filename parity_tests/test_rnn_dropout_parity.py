"""SimpleRNN, LSTM, GRU with ``dropout``/``recurrent_dropout`` side by side with real Keras.

Random masks cannot match Keras' random numbers, so both frameworks are given the same masks:
minikeras through its seam ``RNNBase.draw_dropout_mask``, Keras by replacing its cell's
``get_dropout_mask``/``get_recurrent_dropout_mask`` (which hand the cell its cached masks).
Then the training forward pass and every gradient must agree; inference must agree with no
seam at all (dropout is off there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from minikeras import layers as mk_layers

pytestmark = pytest.mark.parity
ATOL = 1e-5
RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def tf(keras: Any) -> Any:
    import tensorflow

    return tensorflow


def _masks(shape: tuple[int, ...], rate: float) -> np.ndarray:
    keep = RNG.random(shape) >= rate
    return keep.astype("float32") * np.float32(1 / (1 - rate))


def _give_masks(tf: Any, klayer: Any, mlayer: Any, x_masks: Any, h_masks: Any) -> None:
    """The same masks for both: (K, N, d) arrays; K = 1 is Keras' single shared mask."""
    drawn = iter([m for m in (x_masks, h_masks) if m is not None])
    mlayer.draw_dropout_mask = lambda shape, rate: next(drawn)

    def keras_form(m: Any) -> Any:
        if m is None:
            return None
        if getattr(klayer.cell, "dropout_mask_count", None) is None:
            return tf.constant(m[0])
        return [tf.constant(k) for k in m]

    klayer.cell.get_dropout_mask = lambda step_input: keras_form(x_masks)
    klayer.cell.get_recurrent_dropout_mask = lambda step_input: keras_form(h_masks)


CASES = [
    # (class name, dropout, recurrent_dropout, kwargs)
    ("SimpleRNN", 0.3, 0.0, {"return_sequences": True}),
    ("SimpleRNN", 0.25, 0.4, {"go_backwards": True}),
    ("SimpleRNN", 0.0, 0.5, {"return_sequences": True}),
    ("LSTM", 0.3, 0.0, {"return_sequences": True}),
    ("LSTM", 0.2, 0.3, {"return_state": True}),
    ("LSTM", 0.0, 0.4, {"return_sequences": True, "go_backwards": True}),
    ("GRU", 0.3, 0.0, {}),
    ("GRU", 0.2, 0.25, {"return_sequences": True, "return_state": True}),
    ("GRU", 0.0, 0.5, {"go_backwards": True}),
]


@pytest.mark.parametrize("name,rate,rec_rate,kwargs", CASES)
def test_training_with_the_same_masks_matches_keras(keras, tf, name, rate, rec_rate, kwargs):
    n, T, d, u = 4, 5, 3, 6
    klayer = getattr(keras.layers, name)(u, dropout=rate, recurrent_dropout=rec_rate, **kwargs)
    mlayer = getattr(mk_layers, name)(u, dropout=rate, recurrent_dropout=rec_rate, **kwargs)
    x = RNG.standard_normal((n, T, d)).astype("float32")
    klayer.build((n, T, d))
    mlayer.build_for((n, T, d))
    mlayer.set_weights(klayer.get_weights())
    per_gate = mlayer.gate_count if rec_rate > 0 else 1
    x_masks = _masks((per_gate, n, d), rate) if rate > 0 else None
    h_masks = _masks((per_gate, n, u), rec_rate) if rec_rate > 0 else None
    _give_masks(tf, klayer, mlayer, x_masks, h_masks)

    mouts = mlayer(x, training=True)
    mouts = mouts if isinstance(mouts, list) else [mouts]
    upstream = [RNG.standard_normal(o.shape).astype("float32") for o in mouts]
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        kouts = klayer(tx, training=True)
        kouts = kouts if isinstance(kouts, list | tuple) else [kouts]
        loss = sum(tf.reduce_sum(o * g) for o, g in zip(kouts, upstream, strict=True))
    kgrads = tape.gradient(loss, [tx] + list(klayer.trainable_weights))
    for mo, ko in zip(mouts, kouts, strict=True):
        np.testing.assert_allclose(mo, ko.numpy(), atol=ATOL)
    mlayer.zero_grads()
    dx = mlayer.backward(upstream if len(upstream) > 1 else upstream[0])
    mgrads = [dx] + [w.grad for w in mlayer.trainable_weights]
    for mg, kg in zip(mgrads, kgrads, strict=True):
        np.testing.assert_allclose(mg, kg.numpy(), atol=ATOL)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_inference_ignores_dropout_as_keras_does(keras, name):
    n, T, d, u = 3, 4, 2, 5
    klayer = getattr(keras.layers, name)(u, dropout=0.5, recurrent_dropout=0.5,
                                          return_sequences=True)
    mlayer = getattr(mk_layers, name)(u, dropout=0.5, recurrent_dropout=0.5,
                                      return_sequences=True)
    x = RNG.standard_normal((n, T, d)).astype("float32")
    klayer.build((n, T, d))
    mlayer.build_for((n, T, d))
    mlayer.set_weights(klayer.get_weights())
    np.testing.assert_allclose(mlayer(x), klayer(x, training=False).numpy(), atol=ATOL)
    assert mlayer.get_config()["dropout"] == klayer.get_config()["dropout"] == 0.5
    assert mlayer.get_config()["recurrent_dropout"] == 0.5


@pytest.mark.filterwarnings("ignore:.*drops every unit")
@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_rate_one_drops_every_input(keras, name):
    """dropout=1.0 in training: every input is dropped, so the outputs are those of a zero
    input. Keras' SimpleRNN does that; Keras' LSTM and GRU apply no dropout at all at rate 1
    (their cells test ``0 < dropout < 1``), a Keras bug listed in parity_report.md: for those
    two the test checks that the bug is still there, and that minikeras follows the math."""
    n, T, d, u = 2, 4, 3, 5
    klayer = getattr(keras.layers, name)(u, dropout=1.0, return_sequences=True)
    mlayer = getattr(mk_layers, name)(u, dropout=1.0, return_sequences=True)
    x = RNG.standard_normal((n, T, d)).astype("float32")
    klayer.build((n, T, d))
    mlayer.build_for((n, T, d))
    mlayer.set_weights(klayer.get_weights())
    zero_input = mlayer(np.zeros_like(x))
    np.testing.assert_allclose(mlayer(x, training=True), zero_input, atol=ATOL)
    keras_training = klayer(x, training=True).numpy()
    if name == "SimpleRNN":
        np.testing.assert_allclose(keras_training, zero_input, atol=ATOL)
    else:   # Keras: no dropout at rate 1
        np.testing.assert_allclose(keras_training, klayer(x).numpy(), atol=ATOL)

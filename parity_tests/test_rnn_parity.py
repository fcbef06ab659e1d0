"""SimpleRNN, LSTM, GRU and TimeDistributed side by side with real Keras.

Layer level: forward outputs and every gradient (inputs, weights, initial states) against
``tf.GradientTape``, from Keras' own initial weights. Model level (once the minikeras
training loop exists): stateful semantics over consecutive predict/train_on_batch/evaluate
calls, one Adam step, and 50 training steps of the two tutorial models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minikeras
from minikeras import layers as mk_layers

pytestmark = pytest.mark.parity
ATOL = 1e-5
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def tf(keras: Any) -> Any:
    import tensorflow

    return tensorflow


def _tape_grads(tf: Any, klayer: Any, inputs: list[np.ndarray], upstream: list[np.ndarray]):
    """Keras outputs and d(sum(out * upstream))/d(inputs, weights) by GradientTape."""
    tins = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tins)
        if len(tins) > 1:
            outs = klayer(tins[0], initial_state=tins[1:])
        else:
            outs = klayer(tins[0])
        outs = outs if isinstance(outs, list | tuple) else [outs]
        loss = sum(tf.reduce_sum(o * g) for o, g in zip(outs, upstream, strict=True))
    grads = tape.gradient(loss, tins + list(klayer.trainable_weights))
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


CASES = [
    # (class name, kwargs, T, initial state)
    ("SimpleRNN", {}, 7, False),
    ("SimpleRNN", {"return_sequences": True, "go_backwards": True}, 5, True),
    ("LSTM", {}, 6, False),
    ("LSTM", {"return_sequences": True, "return_state": True}, 5, True),
    ("LSTM", {"go_backwards": True, "return_state": True}, 4, False),
    ("GRU", {"return_sequences": True}, 6, False),
    ("GRU", {"return_state": True, "go_backwards": True}, 5, True),
]


@pytest.mark.parametrize("name,kwargs,T,init", CASES)
def test_forward_and_gradients_match_keras(keras, tf, name, kwargs, T, init):
    n, d, u = 4, 3, 5
    klayer = getattr(keras.layers, name)(u, **kwargs)
    mlayer = getattr(mk_layers, name)(u, **kwargs)
    x = RNG.standard_normal((n, T, d)).astype("float32")
    inputs = [x]
    if init:
        inputs += [RNG.standard_normal((n, u)).astype("float32") for _ in mlayer.state_names]
    klayer.build((n, T, d))
    mlayer.build_for((n, T, d))
    mlayer.set_weights(klayer.get_weights())
    mouts = mlayer(inputs if init else x)
    mouts = mouts if isinstance(mouts, list) else [mouts]
    upstream = [RNG.standard_normal(o.shape).astype("float32") for o in mouts]
    kouts, kgrads = _tape_grads(tf, klayer, inputs, upstream)
    for mo, ko in zip(mouts, kouts, strict=True):
        np.testing.assert_allclose(mo, ko, atol=ATOL)
    mlayer.zero_grads()
    dx = mlayer.backward(upstream if len(upstream) > 1 else upstream[0])
    dxs = dx if isinstance(dx, list) else [dx]
    mgrads = dxs + [w.grad for w in mlayer.trainable_weights]
    assert len(mgrads) == len(kgrads)
    for mg, kg in zip(mgrads, kgrads, strict=True):
        np.testing.assert_allclose(mg, kg, atol=ATOL, rtol=1e-5)


def test_time_distributed_dense_matches_keras(keras, tf):
    kl = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="tanh"))
    ml = mk_layers.TimeDistributed(mk_layers.Dense(3, activation="tanh"))
    x = RNG.standard_normal((4, 6, 5)).astype("float32")
    kl.build(x.shape)
    ml.build_for(x.shape)
    ml.set_weights(kl.get_weights())
    g = RNG.standard_normal((4, 6, 3)).astype("float32")
    (ko,), kgrads = _tape_grads(tf, kl, [x], [g])
    np.testing.assert_allclose(ml(x), ko, atol=ATOL)
    mgrads = [ml.backward(g)] + [w.grad for w in ml.trainable_weights]
    for mg, kg in zip(mgrads, kgrads, strict=True):
        np.testing.assert_allclose(mg, kg, atol=ATOL, rtol=1e-5)


def test_lstm_unit_forget_bias_and_layout_match_keras(keras):
    kl = keras.layers.LSTM(4)
    kl.build((None, 3, 2))
    ml = mk_layers.LSTM(4)
    ml.build_for((None, 3, 2))
    assert [w.shape for w in ml.get_weights()] == [w.shape for w in kl.get_weights()]
    np.testing.assert_array_equal(ml.get_weights()[2], kl.get_weights()[2])
    kg = keras.layers.GRU(4)
    kg.build((None, 3, 2))
    mg = mk_layers.GRU(4)
    mg.build_for((None, 3, 2))
    assert [w.shape for w in mg.get_weights()] == [w.shape for w in kg.get_weights()]


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_stateful_layer_calls_match_keras(keras, name):
    """Consecutive calls carry the state; reset_state zeroes it (layer level)."""
    n, T, d, u = 3, 4, 2, 5
    inp = keras.Input(batch_shape=(n, T, d))
    klayer = getattr(keras.layers, name)(u, stateful=True, return_sequences=True)
    kmodel = keras.Model(inp, klayer(inp))
    mlayer = getattr(mk_layers, name)(u, stateful=True, return_sequences=True)
    mlayer.build_for((n, T, d))                  # the batch size comes from the build shape
    mlayer.set_weights(klayer.get_weights())
    assert len(mlayer.get_weights()) == len(klayer.get_weights())
    xs = [RNG.standard_normal((n, T, d)).astype("float32") for _ in range(3)]
    for x in xs:
        np.testing.assert_allclose(mlayer(x), kmodel(x).numpy(), atol=ATOL)
    klayer.reset_state()
    mlayer.reset_state()
    np.testing.assert_allclose(mlayer(xs[0]), kmodel(xs[0]).numpy(), atol=ATOL)
    for ms, ks in zip(mlayer.states, klayer.states, strict=True):
        np.testing.assert_allclose(ms, ks.numpy(), atol=ATOL)
    with pytest.raises(ValueError, match=f"batch size {n}"):
        mlayer(np.ones((n + 1, T, d), "float32"))


# --------------------------------------------------------------------------- model level
def _has_models() -> bool:
    return hasattr(minikeras, "Sequential") and hasattr(minikeras, "optimizers")


needs_models = pytest.mark.skipif(not _has_models(), reason="minikeras.Sequential not there yet")
MNIST_DIR = Path(os.environ.get("MINIKERAS_MNIST_DIR",
                                Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))

"""SimpleRNN, LSTM, GRU and TimeDistributed side by side with real Keras.

Layer level: forward outputs and every gradient (inputs, weights, initial states) against
``tf.GradientTape``, from Keras' own initial weights. Model level (once the minikeras
training loop exists): stateful semantics over consecutive predict/train_on_batch/evaluate
calls, one Adam step, and 50 training steps of the two tutorial models.
"""

from __future__ import annotations

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
needs_models = pytest.mark.skipif(not hasattr(minikeras, "Sequential"),
                                  reason="minikeras.Sequential not there yet")


def _reset(model: Any) -> None:
    """Keras 3 has no model.reset_states(): reset each stateful layer."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


@needs_models
def test_stateful_model_predict_train_evaluate_match_keras(keras):
    """State carries across predict / train_on_batch / evaluate calls, as in Keras."""
    B, T, D, u = 4, 5, 2, 6

    def build(fw: Any) -> Any:
        model = fw.Sequential([fw.Input(batch_shape=(B, T, D)),
                               fw.layers.LSTM(u, return_sequences=True, stateful=True),
                               fw.layers.TimeDistributed(fw.layers.Dense(1))])
        model.compile(optimizer=fw.optimizers.Adam(learning_rate=0.01), loss="mse")
        return model

    km, mm = build(keras), build(minikeras)
    mm.set_weights(km.get_weights())
    x = RNG.standard_normal((2 * B, T, D)).astype("float32")
    y = RNG.standard_normal((2 * B, T, 1)).astype("float32")
    klstm, mlstm = km.layers[0], mm.layers[0]

    def same_state() -> None:
        for ms, ks in zip(mlstm.states, klstm.states, strict=True):
            np.testing.assert_allclose(ms, ks.numpy(), atol=ATOL)

    for _ in range(2):   # the second predict starts where the first ended: other outputs
        np.testing.assert_allclose(mm.predict(x, batch_size=B, verbose=0),
                                   km.predict(x, batch_size=B, verbose=0), atol=ATOL)
        same_state()
    for i in range(3):
        sl = slice((i % 2) * B, (i % 2 + 1) * B)
        np.testing.assert_allclose(mm.train_on_batch(x[sl], y[sl]),
                                   km.train_on_batch(x[sl], y[sl]), rtol=1e-5)
        same_state()
    for _ in range(2):
        np.testing.assert_allclose(mm.evaluate(x, y, batch_size=B, verbose=0),
                                   km.evaluate(x, y, batch_size=B, verbose=0), rtol=1e-5)
        same_state()
    _reset(km)
    mm.reset_states()
    assert all(not s.any() for s in mlstm.states)
    np.testing.assert_allclose(mm.predict(x, batch_size=B, verbose=0),
                               km.predict(x, batch_size=B, verbose=0), atol=ATOL)
    for mw, kw in zip(mm.get_weights(), km.get_weights(), strict=True):
        np.testing.assert_allclose(mw, kw, atol=ATOL)
    assert len(mm.get_weights()) == 5          # the states are not weights
    with pytest.raises(ValueError, match=f"batch size {B}"):
        mm.predict(x[:B + 1], batch_size=B, verbose=0)   # a partial last batch
    with pytest.raises(ValueError, match=f"batch size {B}"):
        mm.train_on_batch(x[:B - 1], y[:B - 1])


@needs_models
def test_gru_time_distributed_softmax_one_adam_step(keras):
    """GRU -> TimeDistributed(Dense(softmax)): the logits path through the wrapper, one step."""
    T, D = 6, 3

    def build(fw: Any) -> Any:
        model = fw.Sequential([fw.Input((T, D)),
                               fw.layers.GRU(8, return_sequences=True, go_backwards=True),
                               fw.layers.TimeDistributed(fw.layers.Dense(4, activation="softmax"))])
        model.compile(optimizer=fw.optimizers.Adam(), loss="categorical_crossentropy")
        return model

    km, mm = build(keras), build(minikeras)
    mm.set_weights(km.get_weights())
    x = RNG.standard_normal((10, T, D)).astype("float32")
    y = np.eye(4, dtype="float32")[RNG.integers(0, 4, (10, T))]
    np.testing.assert_allclose(mm.train_on_batch(x, y), km.train_on_batch(x, y), rtol=1e-6)
    for mw, kw in zip(mm.get_weights(), km.get_weights(), strict=True):
        np.testing.assert_allclose(mw, kw, atol=2e-6)


TUTORIAL_STEPS = 50


@needs_models
@pytest.mark.parametrize("key", ["rnn", "lstm"])
def test_tutorial_models_50_steps(keras, key):
    """(a) SimpleRNN(50) over MNIST rows, (b) the stateful sin->cos LSTM: from Keras' initial
    weights, the same 50 batches, the same losses (1e-5 relative) and weights (1e-5)."""
    from parity_tests.harness import compare
    from parity_tests.models import SPECS

    c = compare(SPECS[key], keras, minikeras, TUTORIAL_STEPS, checkpoints=(TUTORIAL_STEPS,))
    assert c.max_loss_rel(TUTORIAL_STEPS) <= 1e-5, c.first_exceeding(1e-5)
    assert c.weight_diff[TUTORIAL_STEPS] <= 1e-5


@needs_models
def test_functional_encoder_decoder_initial_state_one_adam_step(keras):
    """``layer(x, initial_state=[h, c])`` in a functional graph: the states' gradients flow
    from the decoder back into the encoder (one Adam step, same weights as Keras)."""

    def build(fw: Any) -> Any:
        enc_in, dec_in = fw.Input((6, 3)), fw.Input((4, 2))
        _, h, c = fw.layers.LSTM(5, return_state=True)(enc_in)
        seq = fw.layers.LSTM(5, return_sequences=True)(dec_in, initial_state=[h, c])
        out = fw.layers.TimeDistributed(fw.layers.Dense(2))(seq)
        model = fw.Model([enc_in, dec_in], out)
        model.compile(optimizer=fw.optimizers.Adam(learning_rate=0.01), loss="mse")
        return model

    km, mm = build(keras), build(minikeras)
    mm.set_weights(km.get_weights())
    encoder_kernel = mm.get_weights()[0].copy()
    x = [RNG.standard_normal((8, 6, 3)).astype("float32"),
         RNG.standard_normal((8, 4, 2)).astype("float32")]
    y = RNG.standard_normal((8, 4, 2)).astype("float32")
    for _ in range(2):
        np.testing.assert_allclose(mm.train_on_batch(x, y), km.train_on_batch(x, y), rtol=1e-5)
    for mw, kw in zip(mm.get_weights(), km.get_weights(), strict=True):
        np.testing.assert_allclose(mw, kw, atol=2e-6)
    assert not np.allclose(mm.get_weights()[0], encoder_kernel)   # reached through h, c

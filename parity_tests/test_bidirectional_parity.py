"""Bidirectional side by side with real Keras: forward outputs and every gradient on random
configurations, weight order and names, stateful calls, and weight/model files both ways."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras
from minikeras import layers as mk_layers

pytestmark = pytest.mark.parity
ATOL = 1e-5
RNG = np.random.default_rng(21)


@pytest.fixture(scope="module")
def tf(keras: Any) -> Any:
    import tensorflow

    return tensorflow


def _random_configs(count: int) -> list[tuple]:
    rng = np.random.default_rng(5)
    out = []
    for k in range(count):
        cls = ["SimpleRNN", "LSTM", "GRU"][k % 3]
        merge = ["concat", "sum", "mul", "ave", None][k % 5]
        seqs, state = bool(rng.integers(2)), bool(rng.integers(2))
        init = state and bool(rng.integers(2))
        own_backward = bool(rng.integers(2))
        out.append((cls, merge, seqs, state, init, own_backward))
    # and two the draw missed: merge_mode None with states, sequences with initial states
    return out + [("LSTM", None, True, True, True, False), ("GRU", "concat", True, True, True,
                                                           False)]


def _pair(fw: Any, cls: str, merge: Any, seqs: bool, state: bool, own_backward: bool) -> Any:
    L = fw.layers
    layer = getattr(L, cls)(4, return_sequences=seqs, return_state=state)
    backward = None
    if own_backward:   # a different activation for the backward direction
        backward = getattr(L, cls)(4, activation="relu", return_sequences=seqs,
                                   return_state=state, go_backwards=True)
    return L.Bidirectional(layer, merge_mode=merge, backward_layer=backward)


@pytest.mark.parametrize("cls,merge,seqs,state,init,own_backward", _random_configs(15))
def test_forward_and_gradients_match_keras(keras, tf, cls, merge, seqs, state, init,
                                           own_backward):
    n, T, d = 3, 5, 2
    kb = _pair(keras, cls, merge, seqs, state, own_backward)
    mb = _pair(minikeras, cls, merge, seqs, state, own_backward)
    x = RNG.standard_normal((n, T, d)).astype("float32")
    n_states = 2 * (2 if cls == "LSTM" else 1)
    states = [RNG.standard_normal((n, 4)).astype("float32") for _ in range(n_states)] \
        if init else []
    kb.build((n, T, d))
    mb.build_for((n, T, d))
    assert [w.shape for w in mb.weights] == [tuple(w.shape) for w in kb.weights]
    mb.set_weights(kb.get_weights())
    mouts = mb(x, initial_state=states) if init else mb(x)
    mouts = mouts if isinstance(mouts, list) else [mouts]
    upstream = [RNG.standard_normal(o.shape).astype("float32") for o in mouts]
    tins = [tf.constant(a) for a in [x, *states]]
    with tf.GradientTape() as tape:
        tape.watch(tins)
        kouts = kb(tins[0], initial_state=tins[1:]) if init else kb(tins[0])
        kouts = list(kouts) if isinstance(kouts, list | tuple) else [kouts]
        loss = sum(tf.reduce_sum(o * g) for o, g in zip(kouts, upstream, strict=True))
    kgrads = tape.gradient(loss, tins + list(kb.trainable_weights))
    assert len(mouts) == len(kouts)
    for mo, ko in zip(mouts, kouts, strict=True):
        np.testing.assert_allclose(mo, ko.numpy(), atol=ATOL)
    mb.zero_grads()
    d = mb.backward(upstream if len(upstream) > 1 else upstream[0])
    mgrads = (d if init else [d]) + [w.grad for w in mb.trainable_weights]
    for mg, kg in zip(mgrads, kgrads, strict=True):
        np.testing.assert_allclose(mg, kg.numpy(), atol=ATOL)


def test_names_config_and_weight_paths_match_keras(keras):
    kb = keras.layers.Bidirectional(keras.layers.LSTM(3, name="enc"))
    mb = mk_layers.Bidirectional(mk_layers.LSTM(3, name="enc"))
    assert (mb.forward_layer.name, mb.backward_layer.name) == (kb.forward_layer.name,
                                                               kb.backward_layer.name)
    kb.build((None, 4, 2))
    mb.build_for((None, 4, 2))
    assert [w.name.split("/")[-1] for w in mb.weights] == [w.name for w in kb.weights]
    kconf, mconf = kb.get_config(), mb.get_config()
    assert mconf["merge_mode"] == kconf["merge_mode"]
    for key in ("layer", "backward_layer"):
        assert mconf[key]["class_name"] == kconf[key]["class_name"]
        assert mconf[key]["config"]["go_backwards"] == kconf[key]["config"]["go_backwards"]
        assert mconf[key]["config"]["name"] == kconf[key]["config"]["name"]


def _model(fw: Any, stateful: bool = False) -> Any:
    L = fw.layers
    first = fw.Input(batch_shape=(2, 5, 3)) if stateful else fw.Input((5, 3))
    return fw.Sequential([
        first,
        L.Bidirectional(L.LSTM(4, return_sequences=True, stateful=stateful)),
        L.Bidirectional(L.GRU(3, stateful=stateful), merge_mode="ave"),
        L.Dense(2)])


def test_stateful_calls_match_keras(keras):
    km, mm = _model(keras, stateful=True), _model(minikeras, stateful=True)
    mm.set_weights(km.get_weights())
    for _ in range(3):
        x = RNG.standard_normal((2, 5, 3)).astype("float32")
        np.testing.assert_allclose(mm.predict(x, verbose=0), km.predict(x, verbose=0),
                                   atol=ATOL)
    for k, m in zip(km.layers[:2], mm.layers[:2], strict=True):
        for ks, ms in zip(k.states, m.states, strict=True):
            np.testing.assert_allclose(ms, np.asarray(ks), atol=ATOL)
    for layer in km.layers[:2]:
        layer.reset_state()
    mm.reset_states()
    x = RNG.standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(mm.predict(x, verbose=0), km.predict(x, verbose=0), atol=ATOL)


def test_weights_files_cross_both_ways(keras, tmp_path):
    x = RNG.standard_normal((4, 5, 3)).astype("float32")
    km, mm = _model(keras), _model(minikeras)
    km.save_weights(tmp_path / "k.weights.h5")
    mm.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(mm.predict(x, verbose=0), km.predict(x, verbose=0), atol=1e-6)
    mm.compile(optimizer="adam", loss="mse")
    mm.train_on_batch(x, RNG.standard_normal((4, 2)).astype("float32"))
    mm.save_weights(tmp_path / "m.weights.h5")
    km.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(km.predict(x, verbose=0), mm.predict(x, verbose=0), atol=1e-6)


def test_dot_keras_files_cross_both_ways(keras, tmp_path):
    x = RNG.standard_normal((4, 5, 3)).astype("float32")
    km = _model(keras)
    km.save(tmp_path / "k.keras")
    loaded = minikeras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), km.predict(x, verbose=0),
                               atol=1e-6)
    assert loaded.layers[1].merge_mode == "ave"
    mm = _model(minikeras)
    mm.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), mm.predict(x, verbose=0), atol=1e-6)

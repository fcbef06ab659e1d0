"""Recurrent dropout (Keras 3 semantics), the gate-product helpers and ActivationBackward."""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import activations, layers
from minikeras.layers import rnn_ops
from minikeras.utils import check_layer_gradients

CLASSES = [layers.SimpleRNN, layers.LSTM, layers.GRU]
RNG = np.random.default_rng(3)


def _fix_masks(layer, seed: int = 1) -> dict:
    """Replace the layer's mask drawing by fixed masks (one per (shape, rate)): the same
    masks at every forward pass, as a finite-difference check needs."""
    rng, store = np.random.default_rng(seed), {}

    def draw(shape, rate):
        if (shape, rate) not in store:
            store[(shape, rate)] = (rng.random(shape) >= rate) / (1 - rate)
        return store[(shape, rate)]

    layer.draw_dropout_mask = draw
    return store


# ------------------------------------------------------------------ gradients (float64)
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("rate,rec_rate", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.5)])
def test_gradients_with_fixed_masks(float64, cls, rate, rec_rate):
    layer = cls(3, dropout=rate, recurrent_dropout=rec_rate, return_sequences=True)
    store = _fix_masks(layer)
    report = check_layer_gradients(layer, RNG.standard_normal((2, 4, 2)), training=True,
                                   max_entries=15)
    assert {"input0", f"{layer.name}/kernel", f"{layer.name}/recurrent_kernel"} <= set(report)
    assert len(store) == (rate > 0) + (rec_rate > 0)   # the masks were really used


# ------------------------------------------------------------------ semantics
@pytest.mark.parametrize("cls", CLASSES)
def test_mask_count_and_shapes_as_keras(cls):
    """One input mask for all gates without recurrent dropout; with it, one mask per gate
    for the inputs and for h (Keras 3 switches its cells to implementation 1)."""
    gates = {layers.SimpleRNN: 1, layers.LSTM: 4, layers.GRU: 3}[cls]
    only_x = cls(4, dropout=0.5)
    x_mask, h_mask = only_x.dropout_masks(3, 2, training=True)
    assert x_mask.shape == (1, 3, 2) and h_mask is None
    both = cls(4, dropout=0.5, recurrent_dropout=0.5)
    x_mask, h_mask = both.dropout_masks(3, 2, training=True)
    assert x_mask.shape == (gates, 3, 2) and h_mask.shape == (gates, 3, 4)
    assert both.dropout_masks(3, 2, training=False) == (None, None)
    # rate 1 drops everything (the math; Keras' LSTM/GRU apply no dropout, parity_report.md)
    with pytest.warns(UserWarning, match="dropout=1.0 drops every unit"):
        layer = cls(4, dropout=1.0)
    x_mask, h_mask = layer.dropout_masks(3, 2, training=True)
    assert h_mask is None and x_mask.shape == (1, 3, 2) and not x_mask.any()


def test_mask_values_and_statistics():
    layer = layers.LSTM(5, dropout=0.25, seed=4)
    mask = layer.draw_dropout_mask((1, 400, 50), 0.25)
    assert mask.dtype == np.float32
    assert set(np.unique(mask)) == {np.float32(0), np.float32(1 / 0.75)}
    assert abs((mask == 0).mean() - 0.25) < 0.01
    again = layers.LSTM(5, dropout=0.25, seed=4).draw_dropout_mask((1, 400, 50), 0.25)
    np.testing.assert_array_equal(mask, again)   # a seed makes the masks repeatable


@pytest.mark.parametrize("cls", CLASSES)
def test_one_mask_for_every_step_new_masks_each_batch(cls):
    """With dropout only and a zero recurrent kernel, a constant input gives the same
    pre-activation at every step in training: the same mask is used for all steps."""
    layer = cls(6, dropout=0.5, return_sequences=True, recurrent_initializer="zeros")
    x = np.ones((4, 5, 3), dtype="float32")
    out1 = layer(x, training=True)
    if cls is layers.SimpleRNN:
        for t in range(1, 5):
            np.testing.assert_allclose(out1[:, t], out1[:, 0], rtol=1e-6)
    layer.recurrent_kernel.assign(np.zeros_like(layer.recurrent_kernel.value))
    store = {}
    real_draw = layer.draw_dropout_mask

    def keep(shape, rate):
        store["m"] = real_draw(shape, rate)
        return store["m"]

    layer.draw_dropout_mask = keep
    layer(x, training=True)
    first = store["m"].copy()
    layer(x, training=True)
    assert not np.array_equal(first, store["m"])   # drawn again for the next batch


@pytest.mark.parametrize("cls", CLASSES)
def test_inference_is_unchanged(cls):
    plain = cls(4, return_sequences=True)
    dropped = cls(4, dropout=0.5, recurrent_dropout=0.3, return_sequences=True)
    x = RNG.standard_normal((2, 5, 3)).astype("float32")
    plain(x)
    dropped(x)
    dropped.set_weights(plain.get_weights())
    np.testing.assert_array_equal(dropped(x), plain(x))
    assert not np.allclose(dropped(x, training=True), plain(x))


def test_bad_rates_name_the_argument():
    with pytest.raises(ValueError, match="`recurrent_dropout` must be a float"):
        layers.GRU(3, recurrent_dropout="0.2")
    with pytest.warns(UserWarning, match="clipped"):
        layer = layers.SimpleRNN(3, dropout=-0.5)
    assert layer.dropout == 0.0


@pytest.mark.parametrize("cls", CLASSES)
def test_config_round_trip_keeps_rates(cls):
    layer = cls(3, dropout=0.2, recurrent_dropout=0.1, seed=5)
    config = layer.get_config()
    assert (config["dropout"], config["recurrent_dropout"], config["seed"]) == (0.2, 0.1, 5)
    assert cls.from_config(config).get_config() == config


# ------------------------------------------------------------------ helpers vs plain forms
def _gate_masks(masks, n_gates, shape):
    """m_k for each gate k: ones (no dropout), the shared mask, or the gate's own."""
    if masks is None:
        return [np.ones(shape)] * n_gates
    return [masks[k if masks.shape[0] > 1 else 0] for k in range(n_gates)]


def _plain_products(a, masks, w, n_gates=4):
    width = w.shape[1] // n_gates
    m = _gate_masks(masks, n_gates, a.shape[-2:])
    return np.concatenate([(a * m[k]) @ w[:, k * width:(k + 1) * width]
                           for k in range(n_gates)], axis=-1)


@pytest.mark.parametrize("gates", [None, 1, 4])
def test_gate_products_and_their_gradients_match_plain_expressions(float64, gates):
    T, N, D, u = 3, 2, 5, 4
    a = RNG.standard_normal((T, N, D))
    w = RNG.standard_normal((D, 4 * u))
    masks = None if gates is None else (RNG.random((gates, N, D)) > 0.3) / 0.7
    z = rnn_ops.gate_products(a, masks, w)
    np.testing.assert_allclose(z, _plain_products(a, masks, w), rtol=1e-12)
    dz = RNG.standard_normal(z.shape)
    # gradients of sum(z * dz) by the definition of the plain expression, per gate
    blocks = [slice(j * u, (j + 1) * u) for j in range(4)]
    m = _gate_masks(masks, 4, (N, D))
    da = sum(m[j] * (dz[..., blocks[j]] @ w[:, blocks[j]].T) for j in range(4))
    dw = np.concatenate([sum((a[t] * m[j]).T @ dz[t][:, blocks[j]] for t in range(T))
                         for j in range(4)], axis=1)
    np.testing.assert_allclose(
        rnn_ops.gate_products_input_grad(dz, masks, np.ascontiguousarray(w.T)), da, rtol=1e-12)
    np.testing.assert_allclose(rnn_ops.gate_products_weight_grad(a, masks, dz), dw, rtol=1e-12)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "softmax", "linear"])
def test_activation_backward_matches_the_activations_backward(float64, name):
    act = activations.get(name)
    x = RNG.standard_normal((3, 2, 4))
    y = act.forward(x)
    backward = rnn_ops.ActivationBackward(act, x, y)
    for t in range(3):
        dy = RNG.standard_normal((2, 4))
        plain = act.backward(x[t], y[t], dy)
        np.testing.assert_allclose(backward(t, dy), plain, rtol=1e-14)
        out = np.empty((2, 4))
        assert backward(t, dy, out=out) is out
        np.testing.assert_allclose(out, plain, rtol=1e-14)


# ------------------------------------------------------------------ on a device
@pytest.mark.parametrize("cls", CLASSES)
def test_dropout_training_on_device_matches_numpy(device_backend, cls):
    """The masks are drawn on the device and every product stays there: with the same masks
    (given through the seam) the device run equals the NumPy run."""
    from backend_fixtures import SIM

    from minikeras import backend

    x = RNG.standard_normal((3, 4, 2)).astype("float32")
    dy = RNG.standard_normal((3, 4, 5)).astype("float32")
    host_masks, results, weights = {}, [], None
    for name in ("numpy", device_backend):
        backend.set_backend("numpy" if name == "numpy" else "cupy")
        layer = cls(5, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
        layer.build_for(x.shape)
        if weights is None:
            weights = layer.get_weights()   # the NumPy layer's; the device layer gets them
        else:
            layer.set_weights(weights)
        real_draw = layer.draw_dropout_mask

        def draw(shape, rate, real_draw=real_draw):
            if (shape, rate) not in host_masks:
                host_masks[(shape, rate)] = backend.to_numpy(real_draw(shape, rate))
            return backend.to_device(host_masks[(shape, rate)], "float32")

        layer.draw_dropout_mask = draw
        SIM.reset()
        y = layer(backend.to_device(x, "float32"), training=True)
        dx = layer.backward(backend.to_device(dy, "float32"))
        if name != "numpy" and device_backend == "sim":
            assert not SIM.np_calls, SIM.np_calls
        results.append([backend.to_numpy(a) for a in (y, dx, layer.kernel.grad)])
    # and the masks drawn on the device itself
    drawn = cls(5, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
    SIM.reset()
    y = drawn(backend.to_device(x, "float32"), training=True)
    drawn.backward(backend.to_device(dy, "float32"))
    x_mask, _ = drawn.cache[1].x_mask, drawn.cache[1].h_mask
    assert type(x_mask) is type(y)           # a device array, as the outputs
    if device_backend == "sim":
        assert not SIM.np_calls, SIM.np_calls
    backend.set_backend("numpy")
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

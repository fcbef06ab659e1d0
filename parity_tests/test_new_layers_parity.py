"""BatchNormalization, LayerNormalization, Embedding, Conv1D, 1-D pooling, Conv2DTranspose and
Cropping2D against real Keras: forward values and gradients on random configurations (the
models, their training steps and their files: ``test_new_layer_models_parity.py``).

Layer level, as in ``test_conv_parity.py``: the same weights (Keras' initial ones, or random
ones set on both sides), the same input and upstream gradient G; Keras' gradients of
L = sum(G * y) from ``tf.GradientTape``, minikeras' from ``backward(G)``; 1e-5 tolerances.

One Keras bug is skipped, case by case, with its reason (``parity_report.md``, "Keras
deviations"): with the TensorFlow backend, Keras 3.15.1's bias add becomes an NHWC
``tf.nn.bias_add`` whenever the output's last axis has the size of the bias, so a channels_first
Conv1D/Conv2DTranspose whose output width equals its number of filters adds the bias along
the width. minikeras follows the math; ``test_keras_channels_first_bias_bug`` pins the bug.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from minikeras import layers as mk

pytestmark = pytest.mark.parity

pytest.importorskip("keras")
ATOL = RTOL = 1e-5
#: per layer class, the worst gaps seen by ``compare``: (forward absolute, gradients absolute,
#: either relative to max(1, the largest entry of its array)), for the report
WORST_GAPS: dict[str, tuple[float, float, float]] = {}
BIAS_BUG = ("Keras 3.15.1 (TF backend) adds a channels_first bias along the width when the "
            "output width equals the number of filters (parity_report.md, Keras deviations)")


def _keras_grads(layer: Any, x: np.ndarray, training: bool, upstream_seed: int = 1,
                 integer_input: bool = False):
    """Keras' output and the gradients of sum(G * y) w.r.t. the input and each weight."""
    import tensorflow as tf

    xt = tf.constant(x.astype("int32") if integer_input else x)
    with tf.GradientTape() as tape:
        if not integer_input:
            tape.watch(xt)
        y = layer(xt, training=training)
        g = np.random.default_rng(upstream_seed).standard_normal(tuple(y.shape))
        g = g.astype(np.float32)
        loss = tf.reduce_sum(y * g)
    sources = ([] if integer_input else [xt]) + list(layer.trainable_weights)
    grads = [tf.convert_to_tensor(v) for v in tape.gradient(loss, sources)]
    return np.asarray(y), g, [np.asarray(v) for v in grads]


def compare(keras_layer: Any, mini_layer: Any, x: np.ndarray, training: bool = False,
            integer_input: bool = False, weights: list | None = None) -> float:
    """Assert forward, dx and every weight gradient agree; return the worst absolute gap."""
    if not keras_layer.built:
        keras_layer.build(x.shape)
    if weights is not None:
        keras_layer.set_weights(weights)
    y_k, g, grads_k = _keras_grads(keras_layer, x, training, integer_input=integer_input)
    mini_layer.build_for(x.shape)
    if weights is not None:
        mini_layer.set_weights(weights)
    elif keras_layer.get_weights():
        mini_layer.set_weights(keras_layer.get_weights())
    y_m = mini_layer(x, training=training)
    mini_layer.zero_grads()
    dx = mini_layer.backward(g)
    grads_m = ([] if integer_input else [dx]) + [w.grad for w in mini_layer.trainable_weights]
    assert len(grads_m) == len(grads_k)
    gaps = []   # (absolute, relative): the output, then each gradient
    for a, b in zip([y_m, *grads_m], [y_k, *grads_k], strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
        gap = float(np.abs(a - b).max())
        gaps.append((gap, gap / max(float(np.abs(b).max()), 1.0)))
    name = type(mini_layer).__name__
    old = WORST_GAPS.get(name, (0.0, 0.0, 0.0))
    WORST_GAPS[name] = (max(old[0], gaps[0][0]), max([old[1]] + [g for g, _ in gaps[1:]]),
                        max([old[2]] + [r for _, r in gaps]))
    worst = max(g for g, _ in gaps)
    # state after the call (BatchNormalization's moving statistics) agrees too
    for a, b in zip(mini_layer.get_weights(), keras_layer.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    return worst


def _data(shape: tuple[int, ...], seed: int = 0, shift: float = 0.0,
          spread: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * spread + shift).astype(np.float32)


def _random_weights(layer: Any, shape: tuple[int, ...], seed: int = 2) -> list[np.ndarray]:
    """Non-trivial gamma/beta/moving statistics (variances positive)."""
    layer.build(shape)
    rng = np.random.default_rng(seed)
    return [(rng.uniform(0.5, 2.0, w.shape) if "variance" in w.path or "gamma" in w.path
             else rng.standard_normal(w.shape)).astype(np.float32) for w in layer.weights]


# --------------------------------------------------------------------------- normalization
@pytest.mark.parametrize("shape,axis", [((8, 5), -1), ((4, 3, 5), -1), ((3, 4, 5, 2), 1),
                                        ((3, 5, 4, 3), -1), ((3, 4, 5, 2), 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(keras, shape, axis, training):
    kwargs = dict(axis=axis, momentum=0.9, epsilon=1e-3)
    k_layer = keras.layers.BatchNormalization(**kwargs)
    weights = _random_weights(k_layer, shape)
    compare(k_layer, mk.BatchNormalization(**kwargs), _data(shape, shift=1.0, spread=2.0),
            training=training, weights=weights)


@pytest.mark.parametrize("center,scale", [(False, True), (True, False), (False, False)])
def test_batch_norm_center_scale(keras, center, scale):
    kwargs = dict(center=center, scale=scale)
    k_layer = keras.layers.BatchNormalization(**kwargs)
    weights = _random_weights(k_layer, (6, 3))
    compare(k_layer, mk.BatchNormalization(**kwargs), _data((6, 3)), training=True,
            weights=weights)


def test_frozen_batch_norm_is_in_inference_mode(keras):
    k_layer, m_layer = keras.layers.BatchNormalization(), mk.BatchNormalization()
    weights = _random_weights(k_layer, (6, 3))
    k_layer.trainable = m_layer.trainable = False
    compare(k_layer, m_layer, _data((6, 3), shift=3.0), training=True, weights=weights)


@pytest.mark.parametrize("shape,axis", [((4, 6), -1), ((3, 4, 5), -1), ((3, 4, 5), [1, 2]),
                                        ((2, 3, 4, 2), 1)])
def test_layer_norm(keras, shape, axis):
    k_layer = keras.layers.LayerNormalization(axis=axis)
    weights = _random_weights(k_layer, shape)
    compare(k_layer, mk.LayerNormalization(axis=axis), _data(shape, shift=-2.0, spread=3.0),
            weights=weights)


# --------------------------------------------------------------------------- sequences
def test_embedding(keras):
    x = np.random.default_rng(0).integers(0, 12, (4, 7)).astype(np.float32)
    compare(keras.layers.Embedding(12, 5), mk.Embedding(12, 5), x, integer_input=True)


def _conv1d_configs(seed: int, count: int) -> list[tuple]:
    full = [c for c in itertools.product([1, 2, 3, 5], [1, 2, 3], [1, 2],
                                         ["valid", "same", "causal"],
                                         ["channels_last", "channels_first"])
            if c[1] == 1 or c[2] == 1]
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


def _sequence(fmt: str, shape=(3, 11, 4), seed: int = 0) -> np.ndarray:
    x = _data(shape, seed)
    return x if fmt == "channels_last" else np.ascontiguousarray(x.transpose(0, 2, 1))


@pytest.mark.parametrize("kernel,strides,dilation,padding,fmt", _conv1d_configs(0, 14))
def test_conv1d(keras, kernel, strides, dilation, padding, fmt):
    kwargs = dict(kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  data_format=fmt, activation="tanh", bias_initializer="random_normal")
    m_layer = mk.Conv1D(5, **kwargs)
    x = _sequence(fmt)
    out = m_layer.compute_output_shape(x.shape)
    if fmt == "channels_first" and out[-1] == 5:
        pytest.skip(BIAS_BUG)
    compare(keras.layers.Conv1D(5, **kwargs), m_layer, x)


def test_conv1d_softmax_channels_first_acts_on_last_axis(keras):
    kwargs = dict(kernel_size=3, data_format="channels_first", activation="softmax")
    compare(keras.layers.Conv1D(4, **kwargs), mk.Conv1D(4, **kwargs),
            _sequence("channels_first"))


@pytest.mark.parametrize("pool,strides,padding,fmt,kind", list(itertools.product(
    [2, 3], [None, 1, 2], ["valid", "same"], ["channels_last", "channels_first"],
    ["Max", "Average"]))[::3])
def test_pooling1d(keras, pool, strides, padding, fmt, kind):
    kwargs = dict(pool_size=pool, strides=strides, padding=padding, data_format=fmt)
    name = f"{kind}Pooling1D"
    compare(getattr(keras.layers, name)(**kwargs), getattr(mk, name)(**kwargs),
            _sequence(fmt))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_global_pooling1d(keras, fmt):
    x = _sequence(fmt)
    ties = np.maximum(x, 0).round(0)   # relu zeros: ties split equally, as reduce_max's
    for name, kwargs in (("GlobalAveragePooling1D", {}), ("GlobalMaxPooling1D", {}),
                         ("GlobalMaxPooling1D", {"keepdims": True}),
                         ("GlobalAveragePooling1D", {"keepdims": True})):
        for data in (x, ties):
            compare(getattr(keras.layers, name)(data_format=fmt, **kwargs),
                    getattr(mk, name)(data_format=fmt, **kwargs), data)


# --------------------------------------------------------------------------- images
def _transpose_configs(seed: int, count: int) -> list[tuple]:
    full = [c for c in itertools.product([1, 2, 3, (2, 3)], [1, 2, 3, (2, 1)], [1, 2],
                                         ["valid", "same"], ["channels_last", "channels_first"])
            if c[1] == 1 or c[2] == 1]
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


def _image(fmt: str, shape=(2, 5, 4, 3), seed: int = 0) -> np.ndarray:
    x = _data(shape, seed)
    return x if fmt == "channels_last" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@pytest.mark.parametrize("kernel,strides,dilation,padding,fmt", _transpose_configs(0, 14))
def test_conv2d_transpose(keras, kernel, strides, dilation, padding, fmt):
    kwargs = dict(kernel_size=kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  data_format=fmt, activation="tanh", bias_initializer="random_normal")
    m_layer = mk.Conv2DTranspose(4, **kwargs)
    x = _image(fmt)
    if fmt == "channels_first" and m_layer.compute_output_shape(x.shape)[-1] == 4:
        pytest.skip(BIAS_BUG)
    compare(keras.layers.Conv2DTranspose(4, **kwargs), m_layer, x)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_dilated_kernels(keras, padding, fmt):
    """Dilation with a kernel wider than 1 (the random draws above hold few)."""
    kwargs = dict(kernel_size=3, dilation_rate=2, padding=padding, data_format=fmt,
                  bias_initializer="random_normal")
    x = _sequence(fmt, (2, 12, 3))
    compare(keras.layers.Conv1D(4, **kwargs), mk.Conv1D(4, **kwargs), x)
    compare(keras.layers.Conv2DTranspose(3, **kwargs), mk.Conv2DTranspose(3, **kwargs),
            _image(fmt))


@pytest.mark.parametrize("strides,output_padding,padding", [
    (2, 1, "valid"), (3, (2, 1), "valid"), (2, 1, "same"), (3, 1, "same")])
def test_conv2d_transpose_output_padding(keras, strides, output_padding, padding):
    kwargs = dict(kernel_size=3, strides=strides, padding=padding,
                  output_padding=output_padding, bias_initializer="random_normal")
    compare(keras.layers.Conv2DTranspose(3, **kwargs), mk.Conv2DTranspose(3, **kwargs),
            _image("channels_last"))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_cropping2d(keras, fmt):
    for cropping in (1, (1, 0), ((0, 2), (1, 1))):
        compare(keras.layers.Cropping2D(cropping, data_format=fmt),
                mk.Cropping2D(cropping, data_format=fmt), _image(fmt, (2, 5, 6, 3)))


def test_keras_channels_first_bias_bug(keras):
    """The Keras bug the skips above avoid, pinned: zero kernels, bias [1, 2, 3, 4]."""
    bias = np.array([1, 2, 3, 4], np.float32)
    for k_layer, m_layer, x in (
            (keras.layers.Conv1D(4, 3, data_format="channels_first"),
             mk.Conv1D(4, 3, data_format="channels_first"), np.zeros((1, 1, 6), np.float32)),
            (keras.layers.Conv2DTranspose(4, 2, strides=2, data_format="channels_first"),
             mk.Conv2DTranspose(4, 2, strides=2, data_format="channels_first"),
             np.zeros((1, 1, 2, 2), np.float32))):
        k_layer.build(x.shape)
        m_layer.build_for(x.shape)
        weights = [np.zeros(k_layer.weights[0].shape, np.float32), bias]
        k_layer.set_weights(weights)
        m_layer.set_weights(weights)
        axes = tuple(a for a in range(x.ndim) if a != 1)
        np.testing.assert_allclose(np.asarray(k_layer(x)).mean(axis=axes), 2.5)   # the bug
        np.testing.assert_allclose(m_layer(x).mean(axis=axes), bias)                 # the math

"""Embedding, Conv1D and the 1-D pooling layers: gradients, reference values, shapes, errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import minikeras
from minikeras.layers import (
    AveragePooling1D,
    Conv1D,
    Dense,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from minikeras.layers.conv1d import sequence_padding
from minikeras.utils import check_layer_gradients


def _seq(fmt, n=2, length=9, c=3, seed=1):
    x = np.random.default_rng(seed).standard_normal((n, length, c))
    return x if fmt == "channels_last" else np.ascontiguousarray(x.transpose(0, 2, 1))


# --------------------------------------------------------------------------- Embedding
def test_embedding_gathers_rows_and_scatter_adds_gradients(float64):
    layer = Embedding(6, 3)
    x = np.array([[1, 4, 1], [0, 1, 5]])
    y = layer(x)
    table = layer.embeddings.value
    np.testing.assert_array_equal(y, table[x])
    assert y.shape == (2, 3, 3) and layer.compute_output_shape((None, 3)) == (None, 3, 3)
    dy = np.random.default_rng(0).standard_normal(y.shape)
    layer.zero_grads()
    assert layer.backward(dy) is None           # indices have no gradient
    expected = np.zeros((6, 3))
    for (i, j), r in np.ndenumerate(x):
        expected[r] += dy[i, j]                 # index 1 appears three times: summed
    np.testing.assert_allclose(layer.embeddings.grad, expected, atol=1e-12)
    check_layer_gradients(layer, x.astype(float))


def test_embedding_defaults_and_float_indices():
    layer = Embedding(10, 4)
    layer.build_for((None, 2))
    values = layer.get_weights()[0]
    assert values.shape == (10, 4) and values.dtype == np.float32
    assert np.abs(values).max() <= 0.05        # Keras' "uniform": RandomUniform(-0.05, 0.05)
    np.testing.assert_array_equal(layer(np.array([[2.0, 3.7]])), values[[[2, 3]]])


def test_embedding_errors():
    with pytest.raises(ValueError, match="Embedding: `input_dim` must be a positive integer.*"
                                         "input_dim=0"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="`output_dim`.*output_dim=2.5"):
        Embedding(3, 2.5)
    with pytest.raises(NotImplementedError, match="mask_zero=True.*no masking"):
        Embedding(5, 2, mask_zero=True)
    with pytest.raises(NotImplementedError, match="embeddings_regularizer"):
        Embedding(5, 2, embeddings_regularizer="l2")
    layer = Embedding(5, 2, name="emb")
    before = None
    with pytest.raises(ValueError, match="'emb': input index 5 is out of range.*\\[0, 5\\)"):
        layer(np.array([[1, 5]]))
    before = layer.get_weights()[0]
    with pytest.raises(ValueError, match="input index -1"):
        layer(np.array([[-1, 2]]))
    np.testing.assert_array_equal(before, layer.get_weights()[0])


def test_embedding_input_length_is_the_keras2_sequence_length():
    with pytest.warns(DeprecationWarning, match="input_length=7"):
        layer = Embedding(20, 3, input_length=7)
    model = minikeras.Sequential([layer, GlobalAveragePooling1D(), Dense(1)])
    assert model.output_shape == (None, 1)
    assert layer.output_shape == (None, 7, 3)


def test_embedding_weights_argument_and_config():
    table = np.arange(12, dtype="float32").reshape(4, 3)
    layer = Embedding(4, 3, weights=[table], name="e")
    np.testing.assert_array_equal(layer(np.array([[3]]))[0, 0], table[3])
    config = layer.get_config()
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert Embedding.from_config(config).get_config() == config


def test_embedding_trains_in_a_model():
    minikeras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (128, 5))
    y = (x == 3).any(axis=1).astype("float32")
    model = minikeras.Sequential([minikeras.Input((5,)), Embedding(10, 4),
                                  GlobalMaxPooling1D(), Dense(1, activation="sigmoid")])
    model.compile(minikeras.optimizers.Adam(0.05), "binary_crossentropy",
                  metrics=["accuracy"])
    first = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss < first - 0.3 and accuracy > 0.9, (first, loss, accuracy)


# --------------------------------------------------------------------------- Conv1D
def reference_conv1d(x, kernel, bias, stride, padding, dilation):
    """Direct (N, L, C) convolution, loops over output steps: the definition."""
    k = kernel.shape[0]
    before, after = sequence_padding(x.shape[1], k, stride, dilation, padding)
    xp = np.pad(x, ((0, 0), (before, after), (0, 0)))
    span = (k - 1) * dilation + 1
    out_len = (xp.shape[1] - span) // stride + 1
    out = np.zeros((x.shape[0], out_len, kernel.shape[2]))
    for t in range(out_len):
        window = xp[:, t * stride:t * stride + span:dilation]        # (N, k, C)
        out[:, t] = np.tensordot(window, kernel, axes=([1, 2], [0, 1])) + bias
    return out


def _conv1d_grid(seed=0, count=16):
    full = [c for c in itertools.product([1, 2, 3, 5], [1, 2, 3], [1, 2],
                                         ["valid", "same", "causal"],
                                         ["channels_last", "channels_first"])
            if c[1] == 1 or c[2] == 1]
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


@pytest.mark.parametrize("k,s,d,padding,fmt", _conv1d_grid())
def test_conv1d_gradients_and_values(float64, k, s, d, padding, fmt):
    layer = Conv1D(4, k, strides=s, padding=padding, dilation_rate=d, data_format=fmt,
                   bias_initializer="glorot_uniform")
    x = _seq(fmt)
    y = layer(x)
    x_nlc = x if fmt == "channels_last" else x.transpose(0, 2, 1)
    ref = reference_conv1d(x_nlc, layer.kernel.value, layer.bias.value, s, padding, d)
    if fmt == "channels_first":
        ref = ref.transpose(0, 2, 1)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    layer.activation = minikeras.activations.get("tanh")
    check_layer_gradients(layer, x, max_entries=25)


def test_conv1d_causal_output_never_sees_the_future(float64):
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = _seq("channels_last", length=10)
    y = layer(x)
    x2 = x.copy()
    x2[:, 6:] += 1.0                       # change only steps 6..9
    y2 = layer(x2)
    np.testing.assert_array_equal(y[:, :6], y2[:, :6])
    assert not np.allclose(y[:, 6:], y2[:, 6:])


def test_conv1d_softmax_logits_path(float64):
    layer = Conv1D(3, 2, activation="softmax")
    x = _seq("channels_last")
    layer(x)
    assert layer.output_logits() is not None
    check_layer_gradients(layer, x)


def test_conv1d_weights_and_errors():
    layer = Conv1D(5, 3, name="c")
    layer.build_for((None, 8, 2))
    assert [w.shape for w in layer.weights] == [(3, 2, 5), (5,)]
    assert layer.compute_output_shape((None, 8, 2)) == (None, 6, 5)
    with pytest.raises(ValueError, match="Conv1D: the `padding` argument.*'full'"):
        Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="Conv1D: `strides > 1` not supported.*dilation"):
        Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="`filters`.*filters=0"):
        Conv1D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv1D(2, (3, 3))
    with pytest.raises(NotImplementedError, match="groups"):
        Conv1D(2, 3, groups=2)
    with pytest.raises(ValueError, match='"c".*expected axis 2 of input shape to have value 2'):
        layer(np.zeros((1, 8, 3)))
    with pytest.raises(ValueError, match="Conv1D layer 'c2'.*zero or negative"):
        Conv1D(2, 5, name="c2")(np.zeros((1, 3, 1)))
    assert Conv1D.from_config(layer.get_config()).get_config() == layer.get_config()


# --------------------------------------------------------------------------- 1-D pooling
def reference_pool1d(x, pool, stride, padding, kind):
    n, length, c = x.shape
    out_len = (length - pool) // stride + 1 if padding == "valid" else -(-length // stride)
    total = max((out_len - 1) * stride + pool - length, 0) if padding == "same" else 0
    out = np.zeros((n, out_len, c))
    for t in range(out_len):
        start = t * stride - total // 2
        window = x[:, max(start, 0):start + pool]
        out[:, t] = window.max(axis=1) if kind == "max" else window.mean(axis=1)
    return out


@pytest.mark.parametrize("pool,strides,padding,fmt,kind", list(itertools.product(
    [2, 3], [None, 1, 2], ["valid", "same"], ["channels_last", "channels_first"],
    ["max", "avg"]))[::3])
def test_pooling1d_gradients_and_values(float64, pool, strides, padding, fmt, kind):
    cls = MaxPooling1D if kind == "max" else AveragePooling1D
    layer = cls(pool, strides, padding, fmt)
    x = _seq(fmt)
    y = layer(x)
    x_nlc = x if fmt == "channels_last" else x.transpose(0, 2, 1)
    ref = reference_pool1d(x_nlc, pool, strides or pool, padding, kind)
    if fmt == "channels_first":
        ref = ref.transpose(0, 2, 1)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    check_layer_gradients(layer, x)


def test_pooling1d_cache_is_the_layers_own():
    """A shared layer's cache is swapped per call: the 2-D helper must not keep its own."""
    layer = MaxPooling1D(2)
    a, b = _seq("channels_last", length=8, seed=1), _seq("channels_last", length=8, seed=2)
    layer(a)
    cache_a = layer.cache
    layer(b)
    layer.cache = cache_a
    dy = np.ones((2, 4, 3))
    dx = layer.backward(dy)
    assert np.all((dx != 0) == (a.reshape(2, 4, 2, 3).max(axis=2, keepdims=True) ==
                                a.reshape(2, 4, 2, 3)).reshape(2, 8, 3))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling1d(float64, fmt, keepdims):
    x = _seq(fmt)
    axis = 1 if fmt == "channels_last" else 2
    for cls, ref in ((GlobalAveragePooling1D, x.mean(axis=axis, keepdims=keepdims)),
                     (GlobalMaxPooling1D, x.max(axis=axis, keepdims=keepdims))):
        layer = cls(data_format=fmt, keepdims=keepdims)
        np.testing.assert_allclose(layer(x), ref, atol=1e-12)
        assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *ref.shape[1:])
        check_layer_gradients(layer, x)


def test_pooling1d_errors_and_configs():
    with pytest.raises(ValueError, match="padding"):
        MaxPooling1D(2, padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        AveragePooling1D(0)
    with pytest.raises(ValueError, match='layer "p".*expected ndim=3, found ndim=4'):
        MaxPooling1D(name="p")(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match="MaxPooling1D layer 'p2' expects 3-D input"):
        MaxPooling1D(name="p2").forward(np.zeros((2, 4, 4, 1)))
    with pytest.raises(TypeError, match="keepdims"):
        GlobalMaxPooling1D(keepdims="yes")
    for layer in (MaxPooling1D(3, 1, "same"), GlobalAveragePooling1D(keepdims=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()


# --------------------------------------------------------------------------- Keras 1/2 names
def test_keras1_argument_names_of_the_sequence_layers():
    with pytest.warns(DeprecationWarning) as record:
        emb = Embedding(20, 4, init="uniform", input_length=6)
        conv = minikeras.layers.Convolution1D(nb_filter=5, filter_length=3,
                                              border_mode="same", subsample_length=2)
        pool = MaxPooling1D(pool_length=3, stride=1, border_mode="valid")
        norm = minikeras.layers.BatchNormalization(beta_init="zero", gamma_init="one")
        deconv = minikeras.layers.Conv2DTranspose(nb_filter=2, kernel_size=3, subsample=(2, 2),
                                                  border_mode="same", dim_ordering="th")
    messages = " ".join(str(w.message) for w in record)
    for needle in ("use `embeddings_initializer='random_uniform'`", "use `filters=5`",
                   "use `kernel_size=3`", "use `strides=2`", "use `pool_size=3`",
                   "use `beta_initializer='zeros'`", "use `data_format='channels_first'`"):
        assert needle in messages, (needle, messages)
    assert type(conv) is Conv1D and conv.get_config()["strides"] == (2,)
    assert (conv.filters, conv.kernel_size, conv.padding) == (5, (3,), "same")
    assert (pool.pool_size, pool.strides) == ((3,), (1,))
    assert emb.embeddings_initializer.get_config()["minval"] == -0.05
    assert type(norm.beta_initializer).__name__ == "Zeros"
    assert deconv.data_format == "channels_first" and deconv.strides == (2, 2)
    with pytest.raises(NotImplementedError, match="Embedding: `dropout=0.2`.*Dropout layer"):
        Embedding(20, 4, dropout=0.2)
    with pytest.warns(DeprecationWarning, match="`mode=0` is Keras 1 spelling"):
        minikeras.layers.BatchNormalization(mode=0, axis=1)
    with pytest.raises(NotImplementedError, match="`mode=2`.*only mode=0"):
        minikeras.layers.BatchNormalization(mode=2)

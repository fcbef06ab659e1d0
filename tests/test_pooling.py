"""Pooling layers: gradients, reference values, TF tie/padding rules, shapes, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from minikeras.layers import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from minikeras.layers import im2col as ic
from minikeras.utils import check_layer_gradients


def reference_pool(x, pool, strides, padding, kind):
    """Direct NHWC pooling (loops over output cells); 'same' border windows use real cells only."""
    n, h, w, c = x.shape
    pads = ic.padding_amounts((h, w), pool, strides, (1, 1), padding)
    oh = ic.output_length(h, pool[0], strides[0], 1, padding)
    ow = ic.output_length(w, pool[1], strides[1], 1, padding)
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - pads[0][0], j * strides[1] - pads[1][0]
            win = x[:, max(r0, 0):r0 + pool[0], max(c0, 0):c0 + pool[1], :]
            out[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


def _grid(seed: int = 0, count: int = 20):
    pools = [1, 2, 3, (2, 3), (4, 1)]
    strides = [None, 1, 2, (3, 1)]
    full = list(itertools.product(pools, strides, ["valid", "same"],
                                  ["channels_last", "channels_first"], ["max", "avg"]))
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


def _input(fmt, n=2, c=3, h=7, w=8, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, h, w, c) if fmt == "channels_last" else (n, c, h, w))


def _layer(kind, *args, **kwargs):
    return (MaxPooling2D if kind == "max" else AveragePooling2D)(*args, **kwargs)


@pytest.mark.parametrize("pool,strides,padding,fmt,kind", _grid())
def test_pooling_gradients_and_values(float64, pool, strides, padding, fmt, kind):
    layer = _layer(kind, pool, strides, padding, fmt)
    x = _input(fmt)
    y = layer(x)
    x_nhwc = x if fmt == "channels_last" else x.transpose(0, 2, 3, 1)
    ref = reference_pool(x_nhwc, layer.pool_size, layer.strides, padding, kind)
    if fmt == "channels_first":
        ref = ref.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    check_layer_gradients(layer, x, max_entries=30)


def test_max_pool_routes_ties_to_first_maximum():
    layer = MaxPooling2D((2, 2))
    x = np.zeros((1, 2, 4, 1), np.float32)
    x[0, :, 2:, 0] = [[1, 3], [3, 3]]   # second window: three tied maxima
    layer(x)
    dx = layer.backward(np.array([[[[5.0], [7.0]]]], np.float32))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5, 0, 0, 7], [0, 0, 0, 0]])


def test_max_pool_overlapping_windows_accumulate():
    layer = MaxPooling2D(3, strides=1)
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1, 1, 0] = 9.0                   # the maximum of all 4 overlapping windows
    layer(x)
    dx = layer.backward(np.ones((1, 2, 2, 1), np.float32))
    assert dx[0, 1, 1, 0] == 4.0 and dx.sum() == 4.0


def test_padded_cells_never_win_and_same_average_uses_valid_cells():
    x = -np.ones((1, 3, 3, 1), np.float32)
    x[0, 0, 0, 0] = -5.0
    y = MaxPooling2D(2, padding="same")(x)   # P=1 for 3 -> 2: padding after
    np.testing.assert_array_equal(y[0, :, :, 0], [[-1, -1], [-1, -1]])
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    y = AveragePooling2D(2, padding="same")(x)
    np.testing.assert_allclose(y[0, :, :, 0], [[2, 3.5], [6.5, 8]])


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(float64, fmt, keepdims):
    x = _input(fmt, h=4, w=5)
    axes = (1, 2) if fmt == "channels_last" else (2, 3)
    for cls, ref in ((GlobalAveragePooling2D, x.mean(axis=axes, keepdims=keepdims)),
                     (GlobalMaxPooling2D, x.max(axis=axes, keepdims=keepdims))):
        layer = cls(data_format=fmt, keepdims=keepdims)
        y = layer(x)
        np.testing.assert_allclose(y, ref)
        assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
        check_layer_gradients(layer, x)


def test_global_max_splits_ties_like_tf_reduce_max():
    layer = GlobalMaxPooling2D()
    x = np.zeros((1, 2, 2, 1), np.float32)
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = 2.0
    layer(x)
    dx = layer.backward(np.array([[6.0]], np.float32))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 3], [3, 0]])


def test_pooling_errors_names_and_config():
    with pytest.raises(ValueError, match=r"max_pooling2d.*\(None, 2, 2, 1\)"):
        MaxPooling2D(3).build_for((None, 2, 2, 1))
    with pytest.raises(ValueError, match="expected ndim=4"):
        MaxPooling2D()(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="padding"):
        AveragePooling2D(padding="full")
    assert MaxPool2D is MaxPooling2D and AvgPool2D is AveragePooling2D
    layer = MaxPooling2D(3, 2, "same", name="p")
    config = layer.get_config()
    assert config["pool_size"] == (3, 3) and config["strides"] == (2, 2)
    assert MaxPooling2D.from_config(config).get_config() == config
    assert MaxPooling2D().strides == (2, 2)
    assert AveragePooling2D().name.startswith("average_pooling2d")


def test_float32_pooling_keeps_dtype():
    x = np.random.default_rng(0).random((2, 6, 6, 4)).astype(np.float32)
    for layer in (MaxPooling2D(), AveragePooling2D(3, 2, "same"), GlobalMaxPooling2D(),
                  GlobalAveragePooling2D()):
        y = layer(x)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == np.float32 and dx.shape == x.shape


def _windows(x, pool, strides, padding):
    pads = ic.padding_amounts(x.shape[1:3], pool, strides, (1, 1), padding)
    out_hw = tuple(ic.output_length(n, p, s, 1, padding)
                   for n, p, s in zip(x.shape[1:3], pool, strides, strict=True))
    xpad = ic.to_padded_nhwc(x, pads, False, float("-inf"))
    return xpad, out_hw, ic.patch_view(xpad, pool, out_hw, strides, (1, 1))


WINDOWS = [((2, 2), (2, 2), "valid"), ((2, 2), (2, 2), "same"), ((3, 3), (1, 1), "valid"),
           ((3, 2), (2, 1), "same"), ((2, 3), (3, 3), "same"), ((1, 1), (1, 1), "valid"),
           ((12, 12), (1, 1), "same")]  # 144 cells: indices past int8


@pytest.mark.parametrize("pool,strides,padding", WINDOWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_window_argmax_is_numpy_argmax_bit_for_bit(pool, strides, padding, dtype):
    # small integers make many ties: the first maximum must win each of them
    x = np.random.default_rng(2).integers(0, 3, (2, 7, 8, 3)).astype(dtype)
    _, _, windows = _windows(x, pool, strides, padding)
    n, oh, ow, ph, pw, c = windows.shape
    plain = windows.reshape(n, oh, ow, ph * pw, c).argmax(axis=3)
    np.testing.assert_array_equal(ic.window_argmax(windows), plain)


@pytest.mark.parametrize("pool,strides,padding", WINDOWS)
def test_add_at_window_cells_agrees_with_its_plain_form(pool, strides, padding):
    """Tiled, overlapping and 'same'-padded windows against the docstring's loop."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 7, 8, 3)).astype(np.float32)
    xpad, out_hw, windows = _windows(x, pool, strides, padding)
    winner = ic.window_argmax(windows)
    dy = rng.standard_normal(winner.shape).astype(np.float32)
    plain = np.zeros(xpad.shape, np.float32)
    for ky in range(pool[0]):
        for kx in range(pool[1]):
            ic.offset_slice(plain, ky, kx, out_hw, strides)[...] += dy * (winner == ky * pool[1]
                                                                          + kx)
    np.testing.assert_array_equal(
        ic.add_at_window_cells(dy, winner, xpad.shape, pool, strides), plain)


@pytest.mark.parametrize("pool,strides,padding", [*WINDOWS, ((17, 16), (1, 1), "same")])
def test_window_argmax_from_the_forward_max_is_numpy_argmax(pool, strides, padding):
    """The layer's call: window_max = the forward's y. Ties (small integers), -inf padding,
    overlapping windows, and a 272-cell window whose cell numbers need more than a byte."""
    rng = np.random.default_rng(4)
    x = rng.integers(-1, 2, (2, 19, 18, 3)).astype(np.float32)
    x[0, :, :, 0] = -np.inf  # windows with nothing but -inf: cell 0 wins, as for argmax
    xpad, out_hw, windows = _windows(x, pool, strides, padding)
    n, oh, ow, ph, pw, c = windows.shape
    plain = windows.reshape(n, oh, ow, ph * pw, c).argmax(axis=3)
    y = MaxPooling2D(pool, strides, padding)(x)
    winner = ic.window_argmax(windows, y)
    np.testing.assert_array_equal(winner, plain)
    assert np.iinfo(winner.dtype).max >= ph * pw - 1


def test_max_pool_output_keeps_the_input_memory_order():
    """channels_first: y is computed on the NHWC view and comes back as contiguous NCHW."""
    x = np.random.default_rng(6).random((2, 3, 6, 8)).astype(np.float32)
    y = MaxPooling2D(2, data_format="channels_first")(x)
    assert y.flags.c_contiguous
    np.testing.assert_array_equal(y, x.reshape(2, 3, 3, 2, 4, 2).max(axis=(3, 5)))
    y_last = MaxPooling2D(2)(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
    assert y_last.flags.c_contiguous


def test_max_pool_backward_gives_losers_plus_zero():
    """Cells that did not win get +0.0 (TensorFlow's MaxPoolGrad), not -0.0 from -dy * 0."""
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    layer = MaxPooling2D(2)
    layer(x)
    dx = layer.backward(-np.ones((1, 2, 2, 1), np.float32))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 0, 0, 0], [0, -1, 0, -1],
                                                   [0, 0, 0, 0], [0, -1, 0, -1]])
    assert not np.signbit(dx[dx == 0]).any()


def test_max_pool_cache_is_the_named_contract():
    layer = MaxPooling2D(2, padding="same")
    x = np.random.default_rng(0).random((2, 5, 5, 3)).astype(np.float32)
    y = layer(x)
    cache = layer.cache
    assert cache._fields == ("xpad", "pads", "out_hw", "y")
    assert cache.xpad.shape == (2, 6, 6, 3) and cache.pads == ((0, 1), (0, 1))
    assert cache.out_hw == (3, 3) and cache.y is y and np.isneginf(cache.xpad[:, 5]).all()

"""Conv2D (im2col), ZeroPadding2D, UpSampling2D: gradients, reference values, shapes, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from minikeras import backend
from minikeras.layers import (
    Conv2D,
    Convolution2D,
    Dense,
    Flatten,
    UpSampling2D,
    ZeroPadding2D,
)
from minikeras.layers import im2col as ic
from minikeras.utils import check_layer_gradients


def reference_conv(x, kernel, bias, strides, padding, dilation):
    """Direct NHWC convolution (float64, loops over output cells): the definition itself."""
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    pads = ic.padding_amounts((h, w), (kh, kw), strides, dilation, padding)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    oh = ic.output_length(h, kh, sh, dh, padding)
    ow = ic.output_length(w, kw, sw, dw, padding)
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * sh, i * sh + (kh - 1) * dh + 1, dh)
            cols = slice(j * sw, j * sw + (kw - 1) * dw + 1, dw)
            patch = xp[:, rows, cols]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2])) + bias
    return out


def _grid(seed: int = 0, count: int = 28):
    """A deterministic sample of the full grid of kernel/stride/padding/dilation/format."""
    kernels = [1, 2, 3, 4, 5, (2, 3), (5, 1)]
    strides = [1, 2, 3, (1, 2)]
    dilations = [1, 2, (1, 3)]
    full = [c for c in itertools.product(kernels, strides, ["valid", "same"], dilations,
                                         ["channels_last", "channels_first"])
            if c[1] == 1 or c[3] == 1]  # Keras refuses strides > 1 with dilation > 1
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


def _input(fmt, n=2, c=2, h=11, w=10, seed=1):
    rng = np.random.default_rng(seed)
    shape = (n, h, w, c) if fmt == "channels_last" else (n, c, h, w)
    return rng.standard_normal(shape)


@pytest.mark.parametrize("kernel,strides,padding,dilation,fmt", _grid())
def test_conv2d_gradients(float64, kernel, strides, padding, dilation, fmt):
    layer = Conv2D(3, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   data_format=fmt, activation="tanh", bias_initializer="glorot_uniform")
    check_layer_gradients(layer, _input(fmt), max_entries=25)


@pytest.mark.parametrize("kernel,strides,padding,dilation,fmt", _grid(seed=3, count=10))
def test_conv2d_matches_direct_convolution(float64, kernel, strides, padding, dilation, fmt):
    layer = Conv2D(4, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   data_format=fmt, bias_initializer="glorot_uniform")
    x = _input(fmt)
    y = layer(x)
    x_nhwc = x if fmt == "channels_last" else x.transpose(0, 2, 3, 1)
    ref = reference_conv(x_nhwc, layer.kernel.value, layer.bias.value,
                         layer.strides, padding, layer.dilation_rate)
    if fmt == "channels_first":
        ref = ref.transpose(0, 3, 1, 2)
    assert y.shape == ref.shape
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_same_padding_is_tf_style():
    # k=4, s=1: P=3 -> 1 before, 2 after; k=3, s=2 on 8: out 4, P=max(3*2+3-8,0)=1 -> (0, 1)
    assert ic.same_padding(10, 4, 1, 1) == (1, 2)
    assert ic.same_padding(8, 3, 2, 1) == (0, 1)
    assert ic.same_padding(7, 3, 2, 1) == (1, 1)
    assert ic.same_padding(5, 3, 1, 2) == (2, 2)  # k_eff = 5


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_kernel_layout_and_output_shape(fmt):
    layer = Conv2D(8, (3, 5), strides=2, padding="same", data_format=fmt)
    shape = (None, 28, 27, 3) if fmt == "channels_last" else (None, 3, 28, 27)
    layer.build_for(shape)
    assert [w.shape for w in layer.weights] == [(3, 5, 3, 8), (8,)]
    expected = (None, 14, 14, 8) if fmt == "channels_last" else (None, 8, 14, 14)
    assert layer.compute_output_shape(shape) == expected
    assert layer.count_params() == 3 * 5 * 3 * 8 + 8


def test_unknown_spatial_sizes_stay_unknown():
    layer = Conv2D(8, 3, strides=2)
    layer.build_for((None, None, None, 3))
    assert layer.compute_output_shape((None, None, 9, 3)) == (None, None, 4, 8)
    y = layer(np.zeros((2, 9, 9, 3), np.float32))
    assert y.shape == (2, 4, 4, 8)


def test_float32_forward_and_backward_dtypes():
    layer = Conv2D(4, 3, padding="same", activation="relu")
    x = np.random.default_rng(0).random((2, 6, 6, 3))  # float64 data is cast to float32
    y = layer(x)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == (2, 6, 6, 3)
    assert layer.kernel.grad.dtype == np.float32


def test_softmax_conv_exposes_logits(float64):
    layer = Conv2D(3, 2, activation="softmax", data_format="channels_first")
    x = _input("channels_first")
    y = layer(x)
    z = layer.output_logits()
    np.testing.assert_allclose(y, np.exp(z) / np.exp(z).sum(-1, keepdims=True))
    dz = np.random.default_rng(2).standard_normal(z.shape)
    layer.zero_grads()
    dx = layer.backward_from_logits(dz)
    lin = Conv2D(3, 2, data_format="channels_first")
    lin.build_for(x.shape)
    lin.set_weights(layer.get_weights())
    lin(x)
    np.testing.assert_allclose(dx, lin.backward(dz))
    np.testing.assert_allclose(layer.kernel.grad, lin.kernel.grad)


def test_flatten_after_channels_first_conv_is_chw_order():
    layer = Conv2D(2, 1, data_format="channels_first", use_bias=False, kernel_initializer="ones")
    x = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    y = layer(x)                        # (2, 2, 2, 3): both filters copy the input
    flatten = Flatten()
    flat = flatten(y)
    np.testing.assert_array_equal(flat, np.asarray(y).reshape(2, -1))  # C order of (C, H, W)
    np.testing.assert_array_equal(flat[0, :6], x[0, 0].ravel())
    dense = Dense(1)
    dense(flat)                          # and gradients flow back through the NCHW view
    dy = flatten.backward(dense.backward(np.ones((2, 1), np.float32)))
    dx = layer.backward(dy)
    assert dx.shape == x.shape
    w = dense.kernel.value[:, 0]
    np.testing.assert_allclose(dx[0, 0].ravel(), w[:6] + w[6:])


def test_errors_are_clear():
    with pytest.raises(ValueError, match=r"conv2d.*\(None, 3, 3, 1\).*window"):
        Conv2D(2, 5).build_for((None, 3, 3, 1))
    layer = Conv2D(2, 3, name="c")
    with pytest.raises(ValueError, match="expected ndim=4"):
        layer(np.zeros((2, 8, 8), np.float32))
    layer(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected axis 3 of input shape to have value 3"):
        layer(np.zeros((1, 8, 8, 4), np.float32))
    with pytest.raises(ValueError, match="built for 3 input channels"):
        layer.forward(np.zeros((1, 8, 8, 4), np.float32))
    with pytest.raises(ValueError, match=r"'c'.*\(1, 2, 2, 3\)"):
        layer.forward(np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="data_format"):
        Conv2D(2, 3, data_format="channels_middle")
    with pytest.raises(ValueError, match="padding"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="dilation_rate"):
        Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="filters"):
        Conv2D(0, 3)


def test_config_and_alias():
    # Only old code says Convolution2D, and there (32, 3, 3) means a 3x3 kernel (Keras 1/2).
    assert issubclass(Convolution2D, Conv2D)
    with pytest.warns(DeprecationWarning):
        assert Convolution2D(2, 3, 3).kernel_size == (3, 3)
    layer = Conv2D(4, 3, strides=(2, 1), padding="same", activation="relu", name="cv")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 1)
    clone = Conv2D.from_config(config)
    assert clone.get_config() == config
    assert Conv2D(2, 3).name == "conv2d_1"  # the Convolution2D above took "conv2d"


def test_legacy_convolution2d_shows_and_saves_itself_as_conv2d(capsys: pytest.CaptureFixture[str]):
    """Keras 3's Convolution2D is Conv2D: its summary prints "(Conv2D)" and its files say
    "Conv2D". The Keras 1/2 class (``python -m minikeras.as_keras`` serves it for both names)
    does the same, and loads back as a plain Conv2D with its 3x3 kernel."""
    import minikeras as mk
    from minikeras.layers import serialization

    with pytest.warns(DeprecationWarning):
        legacy = Convolution2D(2, 3, 3)
    model = mk.Sequential([mk.Input((6, 6, 1)), legacy])
    model.summary()
    assert "(Conv2D)" in capsys.readouterr().out
    config = serialization.serialize_layer(legacy)
    assert config["class_name"] == "Conv2D"
    clone = serialization.deserialize_layer(config)
    assert type(clone) is Conv2D and clone.kernel_size == (3, 3)


def test_frozen_conv_has_no_weight_grads():
    layer = Conv2D(2, 3, trainable=False)
    y = layer(np.ones((1, 5, 5, 1), np.float32))
    layer.backward(np.ones_like(y))
    assert layer.kernel.grad is None and layer.trainable_weights == []


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", [1, (2, 0), ((1, 2), (0, 3))])
def test_zero_padding(float64, fmt, padding):
    layer = ZeroPadding2D(padding, data_format=fmt)
    x = _input(fmt, h=3, w=4)
    y = layer(x)
    assert y.shape == layer.compute_output_shape(x.shape)
    assert float(np.abs(y).sum()) == pytest.approx(float(np.abs(x).sum()))
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_upsampling(float64, fmt):
    layer = UpSampling2D((2, 3), data_format=fmt)
    x = _input(fmt, h=3, w=2)
    y = layer(x)
    assert y.shape == layer.compute_output_shape(x.shape)
    if fmt == "channels_last":
        block = np.broadcast_to(x[:, :1, :1], (2, 2, 3, 2))
        np.testing.assert_array_equal(y[:, 0:2, 0:3, :], block)
    check_layer_gradients(layer, x)


def test_global_data_format_default():
    backend.set_image_data_format("channels_first")
    assert Conv2D(2, 3).data_format == "channels_first"


def _scatter_col2im(dcols, padded_shape, pads, kernel, out_hw, strides, dilation):
    """col2im by its definition: every entry of dcols added at the cell im2col read it from
    (one unbuffered ``np.add.at`` over an index array of every (row, column) of cols)."""
    n, hp, wp, c = padded_shape
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel, strides, dilation
    b, y, x, ky, kx, ch = np.meshgrid(np.arange(n), np.arange(oh), np.arange(ow),
                                      np.arange(kh), np.arange(kw), np.arange(c), indexing="ij")
    out = np.zeros(padded_shape)
    np.add.at(out, (b, y * sh + ky * dh, x * sw + kx * dw, ch),
              dcols.reshape(n, oh, ow, kh, kw, c))
    (top, bottom), (left, right) = pads
    return out[:, top:hp - bottom, left:wp - right, :]


def _geometry(kernel, strides, padding, dilation, seed):
    """An NHWC input of 3 channels and a convolution's normalised kernel size, strides,
    dilation, padding amounts and output size on it."""
    layer = Conv2D(1, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    x = _input("channels_last", c=3, seed=seed)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
    pads = ic.padding_amounts(x.shape[1:3], k, s, d, padding)
    out_hw = tuple(ic.output_length(n, kk, ss, dd, padding)
                   for n, kk, ss, dd in zip(x.shape[1:3], k, s, d, strict=True))
    return x, k, s, d, pads, out_hw


@pytest.mark.parametrize("kernel,strides,padding,dilation,fmt", _grid(seed=3, count=12))
def test_col2im_is_the_adjoint_of_im2col(kernel, strides, padding, dilation, fmt):
    """<im2col(pad(x)), g> == <x, col2im(g)> for every x, g (the definition of the adjoint),
    and col2im equals the scatter-add of every patch entry to its cell."""
    del fmt  # im2col works on NHWC; the formats differ only in Conv2D's views
    x, k, s, d, pads, out_hw = _geometry(kernel, strides, padding, dilation, seed=4)
    xpad = ic.to_padded_nhwc(x, pads, False)
    cols = ic.im2col(xpad, k, out_hw, s, d)
    g = np.random.default_rng(5).standard_normal(cols.shape)
    dx = ic.col2im(g, xpad.shape, pads, k, out_hw, s, d)
    assert dx.shape == x.shape
    np.testing.assert_allclose(np.vdot(cols, g), np.vdot(x, dx), rtol=1e-12)
    np.testing.assert_allclose(dx, _scatter_col2im(g, xpad.shape, pads, k, out_hw, s, d),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel,strides,padding,dilation,fmt", _grid(seed=7, count=12))
def test_conv_input_grad_is_col2im_of_dz_times_kernel_transposed(kernel, strides, padding,
                                                                 dilation, fmt):
    """``conv_input_grad`` (offset by offset) equals its plain expression
    col2im(dz @ K.reshape(kh*kw*C, F).T): in float64 to rounding, in float32 to the
    tolerance of a different summation order."""
    del fmt
    x, k, s, d, pads, out_hw = _geometry(kernel, strides, padding, dilation, seed=8)
    padded_shape = ic.to_padded_nhwc(x, pads, False).shape
    rng = np.random.default_rng(9)
    kern = rng.standard_normal((*k, 3, 4))
    dz = rng.standard_normal((x.shape[0] * out_hw[0] * out_hw[1], 4))
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        kd, dzd = kern.astype(dtype), dz.astype(dtype)
        plain = ic.col2im(dzd @ kd.reshape(-1, 4).T, padded_shape, pads, k, out_hw, s, d)
        fast = ic.conv_input_grad(dzd, kd, padded_shape, pads, out_hw, s, d)
        assert fast.dtype == dtype and fast.shape == x.shape
        np.testing.assert_allclose(fast, plain, rtol=tol, atol=tol)


def test_conv2d_cache_is_the_named_contract():
    layer = Conv2D(4, 3, padding="same", activation="relu")
    x = _input("channels_last", c=2).astype(np.float32)
    y = layer(x)
    cache = layer.cache
    assert cache._fields == ("cols", "padded_shape", "pads", "out_hw", "z", "y")
    assert cache.cols.shape == (2 * 11 * 10, 3 * 3 * 2) and cache.padded_shape == (2, 13, 12, 2)
    assert cache.pads == ((1, 1), (1, 1)) and cache.out_hw == (11, 10)
    assert cache.y is y and np.array_equal(np.maximum(cache.z, 0), y)


def test_transposed_kernel_is_the_same_numbers():
    k = np.random.default_rng(0).random((75, 16), dtype=np.float32)
    t = backend.transposed(k)
    assert t.flags["C_CONTIGUOUS"] and np.array_equal(t, k.T)


def test_predict_slices_batches_to_bound_the_patch_matrix(monkeypatch):
    import minikeras as mk

    model = mk.Sequential([mk.Input((9, 9, 2)), Conv2D(4, 3, padding="same"),
                           Conv2D(3, 3, activation="relu"), Flatten(), Dense(2)])
    x = np.random.default_rng(0).random((37, 9, 9, 2)).astype(np.float32)
    whole = model.predict(x, batch_size=16, verbose=0)
    per_sample = max(layer.forward_bytes_per_sample() for layer in model.layers[:2])
    assert per_sample == 7 * 7 * (3 * 3 * 4) * 4       # the second layer: 7x7 rows of 36
    monkeypatch.setattr(model, "INFERENCE_PATCH_BYTES", 5 * per_sample)
    assert model._inference_slice(16) == 4             # 16 rows in 4 equal slices of <= 5
    calls = []
    forward = model._forward
    monkeypatch.setattr(model, "_forward", lambda xs, training: calls.append(len(xs[0]))
                        or forward(xs, training))
    sliced = model.predict(x, batch_size=16, verbose=0)
    assert max(calls) == 4 and sum(calls) == 37
    np.testing.assert_allclose(sliced, whole, rtol=1e-5, atol=1e-6)

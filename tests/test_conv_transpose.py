"""Conv2DTranspose and Cropping2D: gradients, the definition, Keras' output sizes, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minikeras
from minikeras.layers import Conv2D, Conv2DTranspose, Cropping2D, ZeroPadding2D
from minikeras.layers.conv_transpose import transpose_output_length, transpose_padding
from minikeras.utils import check_layer_gradients


def reference_conv_transpose(x, kernel, bias, strides, padding, dilation, out_hw):
    """Direct NHWC transposed convolution: every input pixel adds its kernel patch."""
    n, h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    top = transpose_padding(h, out_hw[0], kh, sh, dh, padding)
    left = transpose_padding(w, out_hw[1], kw, sw, dw, padding)
    big = np.zeros((n, out_hw[0] + sum(top), out_hw[1] + sum(left), f))
    for i, j, ky, kx in itertools.product(range(h), range(w), range(kh), range(kw)):
        big[:, i * sh + ky * dh, j * sw + kx * dw] += x[:, i, j] @ kernel[ky, kx].T
    return big[:, top[0]:top[0] + out_hw[0], left[0]:left[0] + out_hw[1]] + bias


def _grid(seed=0, count=16):
    full = [c for c in itertools.product([1, 2, 3, (2, 3)], [1, 2, 3, (2, 1)], [1, 2],
                                         ["valid", "same"], [None, 1],
                                         ["channels_last", "channels_first"])
            if (c[1] == 1 or c[2] == 1) and (c[4] is None or c[1] not in (1,))]
    rng = np.random.default_rng(seed)
    return [full[i] for i in rng.choice(len(full), count, replace=False)]


@pytest.mark.parametrize("kernel,strides,dilation,padding,out_pad,fmt", _grid())
def test_conv_transpose_gradients_and_values(float64, kernel, strides, dilation, padding,
                                             out_pad, fmt):
    if out_pad is not None and min(np.broadcast_to(strides, 2)) <= out_pad:
        out_pad = 0
    layer = Conv2DTranspose(3, kernel, strides=strides, padding=padding,
                            output_padding=out_pad, dilation_rate=dilation, data_format=fmt,
                            bias_initializer="glorot_uniform")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 2) if fmt == "channels_last" else (2, 2, 4, 5))
    try:
        y = layer(x)
    except ValueError as err:   # an output_padding whose output cannot hold the patches
        assert "output_padding" in str(err)
        return
    x_nhwc = x if fmt == "channels_last" else x.transpose(0, 2, 3, 1)
    out_hw = y.shape[1:3] if fmt == "channels_last" else y.shape[2:4]
    ref = reference_conv_transpose(x_nhwc, layer.kernel.value, layer.bias.value, layer.strides,
                                   padding, layer.dilation_rate, out_hw)
    if fmt == "channels_first":
        ref = ref.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    layer.activation = minikeras.activations.get("tanh")
    check_layer_gradients(layer, x, max_entries=25)


@pytest.mark.parametrize("n,k,s,padding,out_pad,expected", [
    (4, 3, 2, "valid", None, 9), (4, 2, 3, "valid", None, 12), (4, 3, 2, "same", None, 8),
    (4, 3, 2, "valid", 1, 10), (4, 3, 2, "same", 1, 8), (4, 4, 2, "same", 1, 7),
    (5, 1, 1, "valid", None, 5)])
def test_keras_output_size_rules(n, k, s, padding, out_pad, expected):
    assert transpose_output_length(n, k, s, 1, padding, out_pad) == expected


def test_conv_transpose_is_the_adjoint_of_conv2d(float64):
    """<conv2d(a), b> = <a, conv2d_transpose(b)> with the same kernel array (filters/C_in
    swapped roles): the transposed convolution *is* the convolution's backward map."""
    rng = np.random.default_rng(3)
    conv = Conv2D(3, 3, strides=2, padding="same", use_bias=False)
    deconv = Conv2DTranspose(2, 3, strides=2, padding="same", use_bias=False)
    a = rng.standard_normal((1, 8, 8, 2))
    b = rng.standard_normal((1, 4, 4, 3))
    conv.build_for(a.shape)
    deconv.build_for(b.shape)
    deconv.set_weights(conv.get_weights())    # (3, 3, 2, 3): (kh, kw, filters_out, C_in)
    assert deconv(b).shape == a.shape
    np.testing.assert_allclose((conv(a) * b).sum(), (a * deconv(b)).sum(), rtol=1e-12)


def test_conv_transpose_weights_and_errors():
    layer = Conv2DTranspose(4, (2, 3), name="t")
    layer.build_for((None, 5, 5, 2))
    assert [w.shape for w in layer.weights] == [(2, 3, 4, 2), (4,)]
    assert layer.compute_output_shape((None, 5, 5, 2)) == (None, 6, 7, 4)
    with pytest.raises(ValueError, match="Conv2DTranspose: each value of `output_padding` must "
                                         "be strictly less than the stride"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="`strides > 1` not supported"):
        Conv2DTranspose(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        Conv2DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="`filters`.*filters=-1"):
        Conv2DTranspose(-1, 3)
    with pytest.raises(ValueError, match='layer "t".*expected axis 3 of input shape to have '
                                         'value 2'):
        layer(np.zeros((1, 5, 5, 3)))
    assert Conv2DTranspose.from_config(layer.get_config()).get_config() == layer.get_config()


def test_conv_transpose_upsamples_in_a_model():
    minikeras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((16, 4, 4, 1)).astype("float32")
    target = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)   # learn nearest upsampling
    model = minikeras.Sequential([minikeras.Input((4, 4, 1)),
                                  Conv2DTranspose(1, 2, strides=2, use_bias=False)])
    model.compile(minikeras.optimizers.Adam(0.05), "mse")
    first = model.evaluate(x, target, verbose=0)
    model.fit(x, target, epochs=150, batch_size=16, verbose=0)
    assert model.evaluate(x, target, verbose=0) < first / 100
    np.testing.assert_allclose(model.layers[0].kernel.numpy().ravel(), 1.0, atol=0.1)


# --------------------------------------------------------------------------- Cropping2D
@pytest.mark.parametrize("cropping,expected", [
    (1, ((1, 1), (1, 1))), ((1, 2), ((1, 1), (2, 2))), (((0, 2), (1, 0)), ((0, 2), (1, 0)))])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_cropping2d(float64, cropping, expected, fmt):
    layer = Cropping2D(cropping, data_format=fmt)
    assert layer.cropping == expected
    x = np.random.default_rng(0).standard_normal((2, 6, 7, 3))
    x = x if fmt == "channels_last" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = layer(x)
    (t, b), (left, r) = expected
    ref = x[:, t:6 - b, left:7 - r] if fmt == "channels_last" else x[:, :, t:6 - b, left:7 - r]
    np.testing.assert_array_equal(y, ref)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    check_layer_gradients(layer, x)
    undo = ZeroPadding2D(expected, data_format=fmt)   # its adjoint pads the zeros back
    np.testing.assert_array_equal(layer.backward(y), undo(y))


def test_cropping2d_errors_and_config():
    with pytest.raises(ValueError, match="Cropping2D: `cropping` should be.*-1"):
        Cropping2D(-1)
    with pytest.raises(ValueError, match="Cropping2D: `cropping`.*'a'"):
        Cropping2D("a")
    with pytest.raises(ValueError, match="Cropping2D layer 'c'.*removes all of axis 1"):
        Cropping2D(((2, 2), (0, 0)), name="c")(np.zeros((1, 4, 4, 1)))
    layer = Cropping2D(((1, 2), (3, 4)), data_format="channels_first")
    assert Cropping2D.from_config(layer.get_config()).get_config() == layer.get_config()

"""Dot, Rescaling, SpatialDropout1D/2D, GaussianNoise, GaussianDropout, Identity, ZeroPadding1D,
Cropping1D, UpSampling1D: float64 gradient checks, what each computes, output shapes and the
errors of bad arguments (Keras' behaviour measured with Keras 3.15.1; the side-by-side runs
are in ``parity_tests/test_more_layers_parity.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import backend, layers
from minikeras.utils import check_layer_gradients, set_random_seed


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# --------------------------------------------------------------------------- Dot
DOT_CASES = [(-1, False, (3, 4), (3, 4)), (2, True, (2, 3, 4), (2, 5, 4)),
             ((1, 2), False, (2, 3, 4), (2, 5, 3)), ((2, 1), True, (2, 3, 4), (2, 4, 5)),
             ((3, 2), True, (2, 2, 3, 4), (2, 2, 4, 5)), (1, True, (3, 4), (3, 4))]


@pytest.mark.parametrize("axes,normalize,s1,s2", DOT_CASES)
def test_dot_gradients(float64: None, axes, normalize, s1, s2) -> None:
    check_layer_gradients(layers.Dot(axes, normalize=normalize), [_x(s1), _x(s2, 1)])


@pytest.mark.parametrize("axes,normalize,s1,s2", DOT_CASES)
def test_dot_is_a_per_sample_tensordot(axes, normalize, s1, s2) -> None:
    a, b = _x(s1).astype(np.float32), _x(s2, 1).astype(np.float32)
    pair = (axes, axes) if isinstance(axes, int) else axes
    a1, a2 = pair[0] % a.ndim, pair[1] % b.ndim
    if normalize:
        a = a / np.linalg.norm(a, axis=a1, keepdims=True)
        b = b / np.linalg.norm(b, axis=a2, keepdims=True)
    want = np.stack([np.tensordot(a[n], b[n], axes=(a1 - 1, a2 - 1)) for n in range(len(a))])
    want = want.reshape(len(a), -1) if want.ndim == 1 else want
    layer = layers.Dot(axes, normalize=normalize)
    got = layer([_x(s1), _x(s2, 1)])
    assert got.shape == layer.compute_output_shape([s1, s2])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_dot_output_shapes_as_keras() -> None:
    # measured on Keras 3.15.1
    dot = layers.Dot
    assert dot(-1).compute_output_shape([(None, 4), (None, 4)]) == (None, 1)
    assert dot(2).compute_output_shape([(None, 3, 4), (None, 5, 4)]) == (None, 3, 5)
    assert dot(1).compute_output_shape([(None, 3, 4), (None, 3, 5)]) == (None, 4, 5)
    assert dot((3, 2)).compute_output_shape([(None, 2, 3, 4), (None, 2, 4, 5)]) == (
        None, 2, 3, 2, 5)


def test_dot_cosine_of_a_zero_vector_is_zero_with_a_finite_gradient(float64: None) -> None:
    # ‖x‖ is clamped at 1e-7 (Keras' normalize): u = x / 1e-7 = 0, and dx = du / 1e-7
    x, y = np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[1.0, 1.0], [3.0, 1.0]])
    layer = layers.Dot(1, normalize=True)
    out = layer([x, y])
    np.testing.assert_allclose(out[:, 0], [0.0, 5 / np.sqrt(5) / np.sqrt(10)])
    dx, _ = layer.backward(np.ones((2, 1)))
    np.testing.assert_allclose(dx[0], (y[0] / np.sqrt(2)) / 1e-7)   # Keras: 7.07e6 each


@pytest.mark.parametrize("axes,error,match", [
    ("x", TypeError, "should be a list or an int"), (1.5, TypeError, "list or an int"),
    ((1, 2, 3), ValueError, "should contain two elements"),
    ((1, "a"), ValueError, "should be integers")])
def test_dot_bad_axes(axes, error, match) -> None:
    with pytest.raises(error, match=match):
        layers.Dot(axes)


def test_dot_bad_inputs_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Dot.*list of 2 inputs"):
        layers.Dot(1, name="d")([np.ones((2, 3))] * 3)
    with pytest.raises(ValueError, match=r"axis values 4 \(at axis 1\) != 5"):
        layers.Dot(-1, name="d")([np.ones((2, 4)), np.ones((2, 5))])
    with pytest.raises(ValueError, match="axis 0"):
        layers.Dot(0, name="d")([np.ones((2, 4)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="same batch size"):
        layers.Dot(1, name="d")([np.ones((2, 4)), np.ones((3, 4))])
    with pytest.raises(ValueError, match="out of range"):
        layers.Dot(3, name="d")([np.ones((2, 4)), np.ones((2, 4))])


# --------------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (2.0, -1.0), ([0.5, 2.0, -1.0], 1.5)])
def test_rescaling(float64: None, scale, offset) -> None:
    x = _x((4, 3))
    np.testing.assert_allclose(layers.Rescaling(scale, offset)(x),
                               x * np.asarray(scale) + offset)
    check_layer_gradients(layers.Rescaling(scale, offset=offset), x)


def test_rescaling_casts_integers_and_checks_its_constants() -> None:
    y = layers.Rescaling(0.5)(np.arange(4, dtype=np.int32))
    assert y.dtype == np.float32 and y.tolist() == [0.0, 0.5, 1.0, 1.5]
    for bad in ("a", None, [1, "b"], True):
        with pytest.raises(TypeError, match="Rescaling: `scale` must be a number"):
            layers.Rescaling(bad)
    with pytest.raises(ValueError, match=r"`scale` of shape \(4,\) does not broadcast"):
        layers.Rescaling([1.0, 2.0, 3.0, 4.0], name="r")(np.ones((2, 3)))


# --------------------------------------------------------------------------- channel dropout
@pytest.mark.parametrize("make,shape,axes", [
    (lambda: layers.SpatialDropout1D(0.4), (3, 5, 6), (1,)),
    (lambda: layers.SpatialDropout2D(0.4), (3, 4, 2, 6), (1, 2)),
    (lambda: layers.SpatialDropout2D(0.4, data_format="channels_first"), (3, 6, 4, 2), (2, 3))])
def test_spatial_dropout_drops_whole_channels(make, shape, axes) -> None:
    set_random_seed(1)
    layer = make()
    x = np.ones(shape, np.float32)
    y = layer(x, training=True)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    np.testing.assert_array_equal(y, np.broadcast_to(y.max(axis=axes, keepdims=True), shape))
    dy = _x(shape).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dy), dy * y)           # the same mask
    np.testing.assert_array_equal(layer(x), x)                          # inference: identity
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_spatial_dropout_rate_statistics_and_extremes() -> None:
    set_random_seed(0)
    y = layers.SpatialDropout1D(0.3)(np.ones((400, 2, 50), np.float32), training=True)
    assert abs((y[:, 0] != 0).mean() - 0.7) < 0.01
    with pytest.warns(UserWarning, match="rate=1.0 drops every channel"):
        drop_all = layers.SpatialDropout1D(1.0)
    np.testing.assert_array_equal(drop_all(np.ones((2, 3, 4)), training=True), 0.0)
    x = _x((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(layers.SpatialDropout1D(0.0)(x, training=True), x)
    seeded = [layers.SpatialDropout1D(0.5, seed=4)(np.ones((8, 2, 8)), training=True)
              for _ in range(2)]
    np.testing.assert_array_equal(*seeded)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.SpatialDropout1D(0.5), (2, 3, 4)),
    (lambda: layers.SpatialDropout2D(0.5, data_format="channels_first"), (2, 3, 2, 2)),
    (lambda: layers.GaussianDropout(0.3), (2, 3, 4)),
    (lambda: layers.GaussianNoise(0.7), (2, 3, 4))])
def test_noise_layer_gradients_with_a_fixed_draw(float64: None, make, shape) -> None:
    # reseeding before every forward draws the same noise each time
    check_layer_gradients(make(), _x(shape), training=True,
                          before_forward=lambda: set_random_seed(7))


def test_spatial_dropout_bad_arguments() -> None:
    for bad in (1.5, -0.1, "a"):
        with pytest.raises(ValueError, match="rate"):
            layers.SpatialDropout1D(bad)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="SpatialDropout2D.*4-D input"):
        layers.SpatialDropout2D(0.5).forward(np.ones((2, 3, 3)), training=True)


# --------------------------------------------------------------------------- Gaussian noise
def test_gaussian_noise_statistics_and_inference() -> None:
    set_random_seed(0)
    layer = layers.GaussianNoise(0.3)
    x = np.full((200, 100), 2.0, np.float32)
    y = layer(x, training=True)
    assert abs((y - x).mean()) < 0.01 and abs((y - x).std() - 0.3) < 0.01
    np.testing.assert_array_equal(layer.backward(x), x)
    np.testing.assert_array_equal(layer(x), x)
    assert layers.GaussianNoise(2.5)(x, training=True).std() > 2   # stddev > 1 (Keras refuses)


def test_gaussian_dropout_statistics_and_backward() -> None:
    set_random_seed(0)
    layer = layers.GaussianDropout(0.2)
    x = np.ones((200, 100), np.float32)
    m = layer(x, training=True)
    # 20000 draws: the mean's standard error is 0.0035; sqrt(.2 / .8) = 0.5
    assert abs(m.mean() - 1) < 0.015 and abs(m.std() - 0.5) < 0.01
    dy = _x((200, 100)).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dy), dy * m)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_gaussian_bad_arguments() -> None:
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(-1)
    with pytest.raises(TypeError, match="stddev"):
        layers.GaussianNoise("a")
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(1.5)
    with pytest.warns(UserWarning, match="rate=1.0 makes the noise's standard deviation"):
        layer = layers.GaussianDropout(1.0, name="g")
    with pytest.raises(ValueError, match="rate=1 makes"):
        layer(np.ones((2, 3)), training=True)
    np.testing.assert_array_equal(layer(np.ones(3)), np.ones(3))


def test_noise_layers_draw_on_the_device(device_backend) -> None:
    backend.set_backend("cupy")
    backend.set_seed(3)
    x = backend.to_device(np.ones((6, 4, 20), np.float32))
    for layer in (layers.SpatialDropout1D(0.5), layers.GaussianDropout(0.3),
                  layers.GaussianNoise(0.2)):
        y = layer(x, training=True)
        assert isinstance(y, backend.xp.ndarray)
        dx = backend.to_numpy(layer.backward(x))
        host_y = backend.to_numpy(y)
        assert host_y.std() > 0.1
        if not isinstance(layer, layers.GaussianNoise):
            np.testing.assert_array_equal(dx, host_y)     # dy = 1: dx is the mask itself


# --------------------------------------------------------------------------- Identity, 1-D
@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Identity(), (2, 3, 4)),
    (lambda: layers.ZeroPadding1D((2, 1)), (2, 4, 3)),
    (lambda: layers.ZeroPadding1D(1, data_format="channels_first"), (2, 3, 4)),
    (lambda: layers.Cropping1D((1, 2)), (2, 6, 3)),
    (lambda: layers.UpSampling1D(3), (2, 4, 3))])
def test_reshaping_gradients(float64: None, make, shape) -> None:
    layer = make()
    check_layer_gradients(layer, _x(shape))
    out = layer(_x(shape))
    assert out.shape == layer.compute_output_shape(shape)


def test_reshaping_values() -> None:
    x = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    np.testing.assert_array_equal(layers.Identity()(x), x)
    padded = layers.ZeroPadding1D((1, 2))(x)
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 2), (0, 0))))
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x), x[:, 1:2])
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x), np.repeat(x, 2, axis=1))
    assert layers.Cropping1D(1).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert layers.UpSampling1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)


def test_reshaping_bad_arguments() -> None:
    for cls, arg in ((layers.ZeroPadding1D, "padding"), (layers.Cropping1D, "cropping")):
        for bad in (-1, (1, 2, 3), "a", (1, 1.5)):
            want = f"{cls.__name__}: the `{arg}` argument must be a tuple of 2"
            with pytest.raises(ValueError, match=want):
                cls(bad)
    with pytest.raises(ValueError, match="positive integer"):
        layers.UpSampling1D(0)
    with pytest.raises(TypeError, match="integer value for `size`"):
        layers.UpSampling1D(1.5)
    with pytest.raises(ValueError, match="must be smaller than the input length"):
        layers.Cropping1D((2, 2))(np.ones((1, 4, 3)))
    for layer in (layers.ZeroPadding1D(), layers.Cropping1D(), layers.UpSampling1D()):
        with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
            layer(np.ones((2, 3)))
        with pytest.raises(ValueError, match="3-D input"):
            layer.forward(np.ones((2, 3)))

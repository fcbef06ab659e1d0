"""Core layers: float64 finite-difference checks of every backward in ``layers/core.py``, plus
shapes, weight layouts, building and configs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from minikeras import activations, backend, layers
from minikeras.utils import check_layer_gradients, set_random_seed


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("activation", sorted(activations._TABLE))
def test_dense_gradients_every_activation(float64: None, activation: str) -> None:
    layer = layers.Dense(5, activation=activation, bias_initializer="random_normal")
    report = check_layer_gradients(layer, _x((4, 3)), max_entries=15)
    assert set(report) == {"input0", "dense/kernel", "dense/bias"}


@pytest.mark.parametrize("activation", ["relu", "softmax", "tanh"])
def test_dense_gradients_nd_input(float64: None, activation: str) -> None:
    layer = layers.Dense(4, activation=activation, bias_initializer="random_normal")
    check_layer_gradients(layer, _x((2, 3, 5)), max_entries=20)
    assert layer.kernel.shape == (5, 4)
    assert layer.forward(_x((2, 3, 5))).shape == (2, 3, 4)


def test_dense_gradients_without_bias(float64: None) -> None:
    layer = layers.Dense(3, activation="sigmoid", use_bias=False)
    report = check_layer_gradients(layer, _x((4, 6)))
    assert set(report) == {"input0", "dense/kernel"}
    assert len(layer.get_weights()) == 1 and layer.bias is None


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_dense_backward_from_logits_is_dense_without_activation(float64: None,
                                                                  activation: str) -> None:
    """dL/dz fed to backward_from_logits == the same dz through a linear Dense."""
    x, dz = _x((4, 3)), _x((4, 5), seed=1)
    act = layers.Dense(5, activation=activation)
    lin = layers.Dense(5)
    act.build_for(x.shape)
    lin.build_for(x.shape)
    lin.set_weights(act.get_weights())
    act.forward(x)
    lin.forward(x)
    np.testing.assert_array_equal(act.output_logits(), lin.forward(x))
    np.testing.assert_allclose(act.backward_from_logits(dz), lin.backward(dz))
    np.testing.assert_allclose(act.kernel.grad, lin.kernel.grad)
    assert lin.output_logits() is None


def test_activation_layer_gradients(float64: None) -> None:
    check_layer_gradients(layers.Activation("tanh"), _x((3, 4, 2)))
    softmax = layers.Activation("softmax")
    softmax.forward(_x((2, 3)))
    assert softmax.output_logits() is not None


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_gradients(float64: None, data_format: str) -> None:
    check_layer_gradients(layers.Flatten(data_format=data_format), _x((2, 3, 4, 5)))


def test_flatten_orders() -> None:
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)  # (N, C, H, W)
    last = layers.Flatten()(x)
    first = layers.Flatten(data_format="channels_first")(x)
    np.testing.assert_array_equal(last, x.reshape(2, -1))                 # (C, H, W) order
    np.testing.assert_array_equal(first, x.transpose(0, 2, 3, 1).reshape(2, -1))  # (H, W, C)
    assert layers.Flatten().compute_output_shape((None, 3, 2, 2)) == (None, 12)
    assert layers.Flatten()(np.ones((4, 7))).shape == (4, 7)


def test_reshape_gradients_and_shapes(float64: None) -> None:
    check_layer_gradients(layers.Reshape((3, -1)), _x((2, 4, 3)))
    assert layers.Reshape((3, -1)).compute_output_shape((None, 4, 3)) == (None, 3, 4)
    assert layers.Reshape((2, 6)).compute_output_shape((None, 12)) == (None, 2, 6)
    assert layers.Reshape((-1,)).compute_output_shape((None, None, 3)) == (None, None)


def test_dropout_gradient_with_fixed_mask(float64: None) -> None:
    layer = layers.Dropout(0.4)
    # Reseeding before every forward draws the same mask each time.
    check_layer_gradients(layer, _x((6, 5)), training=True,
                          before_forward=lambda: set_random_seed(7))


def test_dropout_inverted_scaling() -> None:
    set_random_seed(0)
    x = np.ones((200, 50), dtype=np.float32)
    layer = layers.Dropout(0.25)
    y = layer(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, y)             # same mask, same scale
    np.testing.assert_array_equal(layer(x), x)        # inference: identity
    np.testing.assert_array_equal(layer.backward(x), x)
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True), x)


def test_dropout_noise_shape_and_seed() -> None:
    x = np.ones((4, 3, 10), dtype=np.float32)
    y = layers.Dropout(0.5, noise_shape=(None, 1, 10), seed=3)(x, training=True)
    assert np.all(y == y[:, :1, :])  # one mask shared along the axis of size 1
    again = layers.Dropout(0.5, noise_shape=(None, 1, 10), seed=3)(x, training=True)
    np.testing.assert_array_equal(y, again)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


# ------------------------------------------------------------------------------ structure
def test_dense_weights_layout_and_defaults() -> None:
    layer = layers.Dense(32)
    layer.build_for((None, 784))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (784, 32) and bias.shape == (32,)
    assert kernel.dtype == np.float32
    assert np.all(bias == 0)
    limit = np.sqrt(6 / (784 + 32))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert layer.count_params() == 784 * 32 + 32
    assert layer.output_shape == (None, 32)
    assert layer.compute_output_shape((None, 5, 784)) == (None, 5, 32)


def test_dense_forward_formula() -> None:
    x = _x((3, 4)).astype(np.float32)
    layer = layers.Dense(2, activation="relu")
    y = layer(x)
    k, b = layer.get_weights()
    np.testing.assert_allclose(y, np.maximum(x @ k + b, 0), rtol=1e-6)


def test_eager_build_from_input_arguments() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = layers.Dense(3, input_dim=4)
        b = layers.Dense(3, input_shape=(4,))
        c = layers.Dense(3, batch_input_shape=(8, 4))
        d = layers.Dense(3, input_shape=(4,), batch_size=8)
    assert a._batch_input_shape == b._batch_input_shape == (None, 4)
    assert c._batch_input_shape == d._batch_input_shape == (8, 4)
    with pytest.warns(UserWarning, match="input_shape"):
        layers.Dense(3, input_dim=4)


def test_lazy_build_on_first_call() -> None:
    layer = layers.Dense(3)
    assert not layer.built and layer.get_weights() == []
    layer(np.ones((2, 5), dtype=np.float32))
    assert layer.built and layer.kernel.shape == (5, 3)
    assert layer.input_shape == (2, 5)


def test_trainable_false_gives_no_weight_grads(float64: None) -> None:
    layer = layers.Dense(2, trainable=False)
    layer.build_for((None, 3))
    layer.forward(_x((4, 3)))
    layer.backward(_x((4, 2)))
    assert layer.kernel.grad is None
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_input_grad_not_needed_skips_dx() -> None:
    layer = layers.Dense(2)
    layer(np.ones((1, 3)))
    layer.input_grad_needed = False
    assert layer.backward(np.ones((1, 2), np.float32)) is None
    assert layer.kernel.grad is not None


def test_input_layer() -> None:
    inp = layers.InputLayer(shape=(784,))
    assert inp.name == "input_layer" and inp.batch_shape == (None, 784)
    x = np.ones((2, 784), dtype=np.float32)
    assert inp.forward(x) is x and inp.backward(x) is x
    with pytest.raises(ValueError, match="shape"):
        layers.InputLayer()


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(4, activation="tanh", use_bias=False),
    lambda: layers.Activation("softmax"),
    lambda: layers.Flatten(data_format="channels_first"),
    lambda: layers.Reshape((2, -1)),
    lambda: layers.Dropout(0.3, seed=1),
])
def test_config_round_trip(make) -> None:
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_floatx_float64_layers() -> None:
    backend.set_floatx("float64")
    layer = layers.Dense(2)
    assert layer(np.ones((1, 3), np.float32)).dtype == np.float64


@pytest.mark.parametrize("a_shape, b_shape", [((64, 10), (32, 10)),    # b smaller: copied
                                              ((4, 30), (50, 30))])    # b larger: the view
def test_matmul_transposed_is_a_times_b_transposed(a_shape, b_shape):
    """Both of backend.matmul_transposed's forms (the copied Wᵀ and the view) give a @ b.T."""
    rng = np.random.default_rng(0)
    a = rng.random(a_shape, dtype=np.float32)
    b = rng.random(b_shape, dtype=np.float32)
    plain = a @ b.T
    assert np.array_equal(backend.matmul_transposed(a, b), plain)
    assert np.array_equal(a @ backend.transposed(b), plain)   # the copied form, either size


def test_dense_input_grad_is_dz_times_kernel_transposed():
    layer = layers.Dense(3)
    layer.build((5, 4))
    x = np.random.default_rng(1).random((5, 4), dtype=np.float32)
    layer.forward(x)
    dz = np.random.default_rng(2).random((5, 3), dtype=np.float32)
    assert np.array_equal(layer.backward(dz), dz @ layer.kernel.value.T)

"""Activations: forward formulas (Keras 3 definitions) and float64 finite-difference checks of
every derivative in ``activations._TABLE``, through the ``Activation`` layer."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from minikeras import activations, layers
from minikeras.utils import check_layer_gradients

ALL_NAMES = sorted(activations._TABLE)
# Points where a derivative jumps: a finite difference across them is meaningless.
KINKS = (0.0, -3.0, 3.0)


def _smooth_inputs(shape: tuple[int, ...], seed: int = 0, scale: float = 4.0) -> np.ndarray:
    """Random inputs at least 0.05 away from every kink (relu, leaky_relu, hard_sigmoid, selu)."""
    x = np.random.default_rng(seed).uniform(-scale, scale, shape)
    for k in KINKS:
        x = np.where(np.abs(x - k) < 0.05, k + np.copysign(0.06, x - k), x)
    return x


def _phi(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


# Independent NumPy references (float64), written from the Keras 3 documentation.
REFERENCE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6,  # relu6(x+3)/6
    "swish": lambda x: x / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "gelu": lambda x: x * _phi(x),
}


def test_reference_covers_every_activation() -> None:
    assert set(REFERENCE) == set(ALL_NAMES)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_forward_matches_reference(name: str) -> None:
    x = _smooth_inputs((5, 7), seed=1)
    got = activations.get(name)(x)
    np.testing.assert_allclose(got, REFERENCE[name](x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_gradient_float64(float64: None, name: str) -> None:
    layer = layers.Activation(name)
    report = check_layer_gradients(layer, _smooth_inputs((4, 6), seed=2), max_entries=24)
    assert "input0" in report


@pytest.mark.parametrize("name", ALL_NAMES)
def test_module_function_and_name_give_same_activation(name: str) -> None:
    fn = getattr(activations, name)
    # silu and swish are one function: either name is right for it
    assert activations.get(fn).name in ({"silu", "swish"} if name == "silu" else {name})
    assert activations.get(name.upper()).name == name


def test_hard_sigmoid_is_keras3_slope_one_sixth() -> None:
    x = np.array([-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0])
    np.testing.assert_allclose(activations.hard_sigmoid(x),
                               [0, 0, 0.25, 0.5, 0.75, 1, 1])


def test_none_is_linear_and_passes_through() -> None:
    act = activations.get(None)
    x = np.arange(3.0)
    assert act.name == "linear" and act(x) is x


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "elu", "selu", "swish", "softmax",
                                  "tanh", "softsign"])
def test_extreme_inputs_stay_finite_and_quiet(name: str) -> None:
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = activations.get(name)(x)
    assert np.all(np.isfinite(y)), y
    assert y.dtype == np.float32


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_on_other_axes(float64: None, axis: int) -> None:
    x = _smooth_inputs((3, 4, 5), seed=3)
    y = activations.softmax(x, axis=axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0)
    e = np.exp(x)
    np.testing.assert_allclose(y, e / e.sum(axis=axis, keepdims=True), rtol=1e-12)
    layer = layers.Activation("softmax")
    layer.activation.params = {"axis": axis}  # an Activation object carries its axis
    check_layer_gradients(layer, x, max_entries=20)


def test_custom_callable_with_and_without_derivative() -> None:
    def cube(x):
        return x ** 3

    act = activations.get(cube)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(act(x), [1, 8])
    with pytest.raises(NotImplementedError, match="derivative"):
        act.backward(x, act(x), np.ones(2))

    cube.derivative = lambda x, y, dy: 3 * x * x * dy
    np.testing.assert_allclose(activations.get(cube).backward(x, None, np.ones(2)), [3, 12])


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="relu") as info:
        activations.get("relux")
    assert "relux" in str(info.value) and "softmax" in str(info.value)
    with pytest.raises(TypeError):
        activations.get(42)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "elu", "softmax", "linear"])
def test_forward_into_buffer_matches(name):
    """``forward(x, out=buf)`` (used by the RNN time loops) gives the same bits as forward(x),
    in place for sigmoid/tanh/relu and through a copy for the others."""
    act = activations.get(name)
    x = np.random.default_rng(1).standard_normal((4, 6)).astype("float32") * 30
    buf = np.empty_like(x)
    assert act.forward(x, out=buf) is buf
    np.testing.assert_array_equal(buf, act.forward(x))


def test_derivative_is_the_backward_factor():
    x = np.random.default_rng(2).standard_normal((3, 5))
    dy = np.random.default_rng(3).standard_normal((3, 5))
    for name in ["tanh", "relu", "linear", "elu", "softsign"]:
        act = activations.get(name)
        y = act.forward(x)
        np.testing.assert_allclose(act.derivative(x, y) * dy, act.backward(x, y, dy),
                                   rtol=1e-12)
        assert act.derivative(x, y).shape == x.shape
    assert not activations.get("softmax").elementwise

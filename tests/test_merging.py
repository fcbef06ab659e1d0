"""Merge layers: values, gradient checks (incl. broadcasting), shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk
from minikeras import layers as L
from minikeras.utils import check_layer_gradients

rng = np.random.default_rng(1)


@pytest.mark.parametrize("cls,n,ref", [
    (L.Add, 3, lambda xs: xs[0] + xs[1] + xs[2]),
    (L.Subtract, 2, lambda xs: xs[0] - xs[1]),
    (L.Multiply, 3, lambda xs: xs[0] * xs[1] * xs[2]),
    (L.Average, 2, lambda xs: (xs[0] + xs[1]) / 2),
    (L.Maximum, 3, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    (L.Minimum, 2, lambda xs: np.minimum(xs[0], xs[1])),
])
def test_elementwise_values_and_gradients(float64, cls, n, ref):
    xs = [rng.standard_normal((4, 3)) for _ in range(n)]
    layer = cls()
    np.testing.assert_allclose(layer(xs), ref(xs))
    check_layer_gradients(cls(), xs)


def test_broadcast_gradient(float64):
    check_layer_gradients(L.Multiply(), [rng.standard_normal((4, 3)),
                                         rng.standard_normal((4, 1))])


@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate(float64, axis):
    xs = [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))]
    layer = L.Concatenate(axis=axis)
    np.testing.assert_array_equal(layer(xs), np.concatenate(xs, axis=axis))
    check_layer_gradients(L.Concatenate(axis=axis), xs)


def test_symbolic_shapes_and_errors():
    a, b = mk.Input((3,)), mk.Input((5,))
    assert L.Concatenate()([a, b]).shape == (None, 8)
    assert L.add([a, a]).shape == (None, 3)
    with pytest.raises(ValueError, match="incompatible shapes"):
        L.Add()([a, b])
    with pytest.raises(ValueError, match="list of inputs|at least 2"):
        L.Add()(a)
    with pytest.raises(ValueError, match="exactly 2"):
        L.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="matching shapes"):
        L.Concatenate(axis=1)([mk.Input((2, 3)), mk.Input((2, 4))])
    assert L.Concatenate(axis=1).get_config()["axis"] == 1


@pytest.mark.parametrize("fn,cls,ref", [
    (L.subtract, L.Subtract, lambda a, b: a - b),
    (L.multiply, L.Multiply, lambda a, b: a * b),
    (L.average, L.Average, lambda a, b: (a + b) / 2),
    (L.maximum, L.Maximum, np.maximum),
    (L.minimum, L.Minimum, np.minimum),
])
def test_functional_shortcuts(fn, cls, ref):
    """``multiply([a, b])`` is ``Multiply()([a, b])``: on arrays, and as a graph node."""
    a, b = (rng.standard_normal((4, 3)).astype("float32") for _ in range(2))
    np.testing.assert_allclose(fn([a, b]), ref(a, b), rtol=1e-6)
    x1, x2 = mk.Input((3,)), mk.Input((3,))
    model = mk.Model([x1, x2], fn([x1, x2], name="merged"))
    assert type(model.get_layer("merged")) is cls
    np.testing.assert_allclose(model.predict([a, b], verbose=0), ref(a, b), rtol=1e-6)

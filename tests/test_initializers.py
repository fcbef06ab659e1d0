"""Initializers: Keras' fan rules, distribution bounds and statistics, orthogonality, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minikeras import initializers, layers
from minikeras.utils import set_random_seed

TRUNC_CORRECTION = 0.87962566103423978  # std of a unit normal truncated to ±2


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Statistical checks on a fixed draw: never flaky."""
    set_random_seed(0)


@pytest.mark.parametrize("shape,fans", [
    ((7,), (7, 7)),
    ((784, 32), (784, 32)),
    ((5, 5, 3, 64), (75, 1600)),       # Conv2D kernel: receptive field 25
    ((3, 2, 4), (6, 12)),
])
def test_compute_fans(shape: tuple[int, ...], fans: tuple[int, int]) -> None:
    assert initializers.compute_fans(shape) == fans


# name -> (scale, mode)
VARIANCE = {
    "glorot": (1.0, "fan_avg"),
    "he": (2.0, "fan_in"),
    "lecun": (1.0, "fan_in"),
}
SHAPE = (300, 100)  # 30,000 draws: statistics within a few percent


def _n(mode: str, shape: tuple[int, ...]) -> float:
    fan_in, fan_out = initializers.compute_fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


@pytest.mark.parametrize("family", list(VARIANCE))
@pytest.mark.parametrize("shape", [SHAPE, (3, 3, 16, 20)])
def test_uniform_bounds_and_variance(family: str, shape: tuple[int, ...]) -> None:
    scale, mode = VARIANCE[family]
    limit = math.sqrt(3 * scale / _n(mode, shape))
    w = initializers.get(f"{family}_uniform")(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit
    assert abs(w.var() / (limit ** 2 / 3) - 1) < 0.05
    assert abs(w.mean()) < 0.02 * limit


@pytest.mark.parametrize("family", list(VARIANCE))
def test_truncated_normal_variance_scaling(family: str) -> None:
    scale, mode = VARIANCE[family]
    target_std = math.sqrt(scale / _n(mode, SHAPE))
    draw_std = target_std / TRUNC_CORRECTION  # std before truncation
    w = initializers.get(f"{family}_normal")(SHAPE)
    assert np.abs(w).max() <= 2 * draw_std * (1 + 1e-6)  # within two standard deviations
    assert abs(w.std() / target_std - 1) < 0.03         # the correction restores the std
    assert abs(w.mean()) < 0.05 * target_std


def test_glorot_uniform_limit_matches_keras_formula() -> None:
    w = initializers.GlorotUniform()((784, 32))
    assert np.abs(w).max() <= math.sqrt(6 / (784 + 32))


def test_random_uniform_normal_and_truncated() -> None:
    u = initializers.RandomUniform()((200, 200))
    assert u.min() >= -0.05 and u.max() < 0.05 and u.max() > 0.049
    n = initializers.RandomNormal(mean=1.0, stddev=0.5)((200, 200))
    assert abs(n.mean() - 1) < 0.01 and abs(n.std() - 0.5) < 0.01
    t = initializers.TruncatedNormal(mean=0.0, stddev=0.05)((200, 200))
    assert np.abs(t).max() <= 0.1 * (1 + 1e-6)
    assert np.abs(t).max() > 0.099
    assert abs(t.std() / (0.05 * TRUNC_CORRECTION) - 1) < 0.03


def test_constants() -> None:
    assert np.all(initializers.get("zeros")((2, 3)) == 0)
    assert np.all(initializers.get("ones")((4,)) == 1)
    c = initializers.Constant(2.5)((3,))
    assert np.all(c == 2.5) and c.dtype == np.float32
    assert initializers.get("zeros")((2,), dtype="float64").dtype == np.float64


@pytest.mark.parametrize("shape", [(8, 32), (32, 8), (3, 4, 10)])
def test_orthogonal(shape: tuple[int, ...]) -> None:
    w = initializers.Orthogonal()(shape)
    assert w.shape == shape and w.flags["C_CONTIGUOUS"]
    m = w.reshape(-1, shape[-1]).astype(np.float64)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_gain_and_lstm_recurrent_shape() -> None:
    u = 16
    k = initializers.Orthogonal(gain=2.0)((u, 4 * u))
    np.testing.assert_allclose(k @ k.T, 4 * np.eye(u), atol=1e-4)  # rows orthonormal × gain²


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal", "random_uniform",
                                  "random_normal", "truncated_normal", "orthogonal"])
def test_global_seed_reproducible(name: str) -> None:
    set_random_seed(123)
    a = initializers.get(name)((6, 5))
    set_random_seed(123)
    b = initializers.get(name)((6, 5))
    set_random_seed(124)
    c = initializers.get(name)((6, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seeded_model_weights_reproducible() -> None:
    def weights() -> list[np.ndarray]:
        layer = layers.Dense(4)
        layer.build_for((None, 3))
        return layer.get_weights()

    set_random_seed(5)
    first = weights()
    set_random_seed(5)
    second = weights()
    np.testing.assert_array_equal(first[0], second[0])


def test_initializer_own_seed_ignores_global_state() -> None:
    set_random_seed(1)
    a = initializers.GlorotUniform(seed=42)((4, 4))
    set_random_seed(2)
    b = initializers.GlorotUniform(seed=42)((4, 4))
    np.testing.assert_array_equal(a, b)


def test_get_forms_and_errors() -> None:
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    conf = initializers.serialize(initializers.RandomNormal(stddev=0.2))
    again = initializers.get(conf)
    assert isinstance(again, initializers.RandomNormal) and again.stddev == 0.2
    with pytest.raises(ValueError, match="glorot_uniform"):
        initializers.get("glorot_unifrom")
    with pytest.raises(TypeError):
        initializers.get(3.5)

"""Weight initializers with Keras' names, defaults and fan rules.

All draws happen on the host, from ``backend.rng()`` (seeded by
``minikeras.utils.set_random_seed``) or from the initializer's own ``seed``, so that the
NumPy and CuPy backends start from the same numbers. Keras' own draws come from TensorFlow's
generator and cannot be reproduced: parity tests copy weights with ``set_weights``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras import backend


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras' fan rule: rank 1 -> (n, n); rank 2 -> (in, out); rank >= 3 (kernels) ->
    receptive field rf = prod(shape[:-2]), fan_in = shape[-2]*rf, fan_out = shape[-1]*rf."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


class Initializer:
    """``init(shape, dtype)`` -> a host NumPy array."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed) if self.seed is not None else backend.rng()

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed} if self.seed is not None else {}


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(dtype or backend.floatx())


class Zeros(Initializer):
    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.ones(shape, _dtype(dtype))


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        super().__init__()
        self.value = value

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return np.full(shape, self.value, _dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return self._rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return self._rng().normal(self.mean, self.stddev, shape).astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


def _truncated_normal(rng: np.random.Generator, mean: float, stddev: float,
                      shape: tuple[int, ...]) -> np.ndarray:
    """Normal draws, redrawn until within two standard deviations (as TensorFlow does)."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


class TruncatedNormal(RandomNormal):
    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        return _truncated_normal(self._rng(), self.mean, self.stddev, shape).astype(_dtype(dtype))


class VarianceScaling(Initializer):
    """scale / n with n = fan_in, fan_out or their mean: uniform in [-sqrt(3 scale/n), ...] or
    a truncated normal of stddev sqrt(scale/n) / 0.8796... (the truncation's correction)."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None) -> None:
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}")
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            out = _truncated_normal(rng, 0.0, math.sqrt(scale) / 0.87962566103423978, shape)
        else:
            out = rng.normal(0.0, math.sqrt(scale), shape)
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed (scale, mode, distribution); only ``seed`` is free."""

    preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(*self.preset, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return Initializer.get_config(self)


class GlorotUniform(_Preset):
    preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """QR of a Gaussian matrix, signs fixed by diag(R); rows = prod(shape[:-1])."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        # C order: q.T is a Fortran-ordered view, and weights must be plain C arrays
        return np.ascontiguousarray(self.gain * q.reshape(shape), dtype=_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0) -> None:
        super().__init__()
        self.gain = gain

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {shape}.")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))


_NAMES: dict[str, type] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
}
_CLASSES = {cls.__name__: cls for cls in _NAMES.values()}


def get(identifier: Any) -> Initializer:
    """A name (``"glorot_uniform"``), a class name, a config dict, an instance or a callable."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret initializer identifier: {identifier!r}. "
                f"Valid names: {sorted(_NAMES)}."
            )
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", "")) or _NAMES.get(
            str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Unknown initializer config: {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(init: Any) -> Any:
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", str(init))

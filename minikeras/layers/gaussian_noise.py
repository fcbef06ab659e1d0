"""GaussianNoise and GaussianDropout: random Gaussian noise while training, identity at
inference (regularization, or data augmentation of real-valued inputs).

GaussianNoise (additive), with ε ~ N(0, 1) drawn per entry:

    y = x + stddev · ε                dL/dx = dy

GaussianDropout (multiplicative: Dropout's mean and variance with a continuous mask):

    σ = sqrt(rate / (1 - rate))
    m = 1 + σ · ε                     y = x ⊙ m                dL/dx = dy ⊙ m (the same m)

Inference (or stddev / rate 0): y = x and dL/dx = dy.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real
from typing import Any

import numpy as np  # the layer's own seeded host generator

from minikeras import backend
from minikeras.layers import argument_checks
from minikeras.layers.layer import Layer
from minikeras.utils import validation


def _seeded(layer: str, seed: Any) -> np.random.Generator | None:
    if seed is None:
        return None
    validation.check_int(seed, "seed", layer)
    return np.random.default_rng(seed)


class GaussianNoise(Layer):
    """Training: ``y = x + stddev · ε``, ε ~ N(0, 1); backward ``dx = dy``."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        # Keras 3.15.1 refuses stddev > 1 (its message says "between 0 and 1"); a noise of
        # any non-negative spread is meaningful, so minikeras follows the math and accepts it
        # (parity_report.md, Keras deviations).
        if isinstance(stddev, bool) or not isinstance(stddev, Real):
            raise TypeError("GaussianNoise: `stddev` must be a number. "
                            f"Received: stddev={stddev!r} (of type {type(stddev).__name__})")
        if not stddev >= 0:
            raise ValueError("GaussianNoise: `stddev` must be a non-negative number. "
                             f"Received: stddev={stddev!r}")
        self._rng = _seeded("GaussianNoise", seed)
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed

    def forward(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.stddev == 0:
            return inputs
        eps = backend.random_normal(tuple(inputs.shape), inputs.dtype, self._rng)
        noise = eps * inputs.dtype.type(self.stddev)
        y = inputs + noise
        return y

    def backward(self, grad_output: Any) -> Any:
        """y = x + stddev·ε, and the noise does not depend on x, so dx = dy (training or not)."""
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Training: ``y = x ⊙ m``, m = 1 + σ·ε, σ = sqrt(rate / (1 - rate)); backward
    ``dx = dy ⊙ m``."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        self.rate = argument_checks.rate("GaussianDropout", rate)
        if self.rate == 1:   # Keras accepts it here and fails in call: warn at once
            warnings.warn("GaussianDropout: rate=1.0 makes the noise's standard deviation "
                          "sqrt(rate / (1 - rate)) infinite; a training call will raise. Use a "
                          "rate below 1.", UserWarning, stacklevel=3)
        self._rng = _seeded("GaussianDropout", seed)
        super().__init__(**kwargs)
        self.seed = seed

    def forward(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            self.cache = None
            return inputs
        if self.rate == 1:
            raise ValueError(f"GaussianDropout layer '{self.name}': rate=1 makes the noise's "
                             "standard deviation sqrt(rate / (1 - rate)) infinite; use a rate "
                             "below 1. Received: rate=1.0")
        sigma = math.sqrt(self.rate / (1.0 - self.rate))
        eps = backend.random_normal(tuple(inputs.shape), inputs.dtype, self._rng)
        m = eps * inputs.dtype.type(sigma) + inputs.dtype.type(1)
        self.cache = m
        y = inputs * m
        return y

    def backward(self, grad_output: Any) -> Any:
        """Training: y = x ⊙ m, so dx = dy ⊙ m (the same m). Inference: dx = dy."""
        m = self.cache
        return grad_output if m is None else grad_output * m

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}

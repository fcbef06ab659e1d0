"""SpatialDropout1D and SpatialDropout2D: Dropout that drops whole channels (feature maps).

Neighbouring time steps or pixels of a feature map are strongly correlated, so dropping
single entries barely regularizes; these layers draw one keep/drop decision per sample and
channel and apply it to every step (1D) or pixel (2D) of that channel. Training:

    keep[n, c] = (u[n, c] >= rate),   u ~ U[0, 1)     one draw per sample and channel
    m          = keep / (1 - rate)                   (inverted dropout; 0 when rate = 1)
    y          = x ⊙ m                               (m broadcast over steps / pixels)

Backward (the same mask): dL/dx = dy ⊙ m. Inference (or rate 0): y = x and dL/dx = dy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np  # the layer's own seeded host generator

from minikeras import backend
from minikeras.layers import argument_checks
from minikeras.layers.layer import InputSpec, Layer, Shape
from minikeras.utils import validation


class _SpatialDropout(Layer):
    """The shared machinery; subclasses say which axes the mask is broadcast over."""

    ndim = 3

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        name = type(self).__name__
        self.rate = argument_checks.rate(name, rate)
        if seed is not None:
            validation.check_int(seed, "seed", name)
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None
        if self.rate == 1:   # Keras accepts it silently: a likely mistake, so warn
            # point at the user's line: a subclass' own __init__ adds two frames (its wrapper)
            own_init = type(self).__init__ is not _SpatialDropout.__init__
            warnings.warn(f"{name}: rate=1.0 drops every channel in training, so nothing after "
                          "this layer learns from its input.", UserWarning,
                          stacklevel=5 if own_init else 3)
        #: 1 / (1 - rate), the factor of a kept channel (dropping everything keeps nothing)
        self.keep_scale = 1.0 / (1.0 - self.rate) if self.rate < 1 else 0.0
        self.input_spec = InputSpec(ndim=self.ndim)

    def _noise_shape(self, shape: Shape) -> tuple[int, ...]:
        raise NotImplementedError

    def _check(self, x: Any) -> None:
        if x.ndim != self.ndim:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects "
                             f"{self.ndim}-D input; received shape {tuple(x.shape)}.")

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self._check(inputs)
        if not training or self.rate == 0:
            self.cache = None
            return inputs
        u = backend.random_uniform(self._noise_shape(tuple(inputs.shape)), inputs.dtype,
                                   self._rng)
        keep = u >= self.rate
        m = keep.astype(inputs.dtype) * inputs.dtype.type(self.keep_scale)
        self.cache = m
        y = inputs * m
        return y

    def backward(self, grad_output: Any) -> Any:
        """Training: y = x ⊙ m, so dx = dy ⊙ m (the same mask, broadcast the same way).
        Inference (or rate 0): y = x, so dx = dy."""
        m = self.cache
        return grad_output if m is None else grad_output * m

    def get_config(self) -> dict[str, Any]:
        # Keras' keys: rate, seed, name, dtype (its dropout layers write no `trainable`)
        config = super().get_config()
        config.pop("trainable")
        return {**config, "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Inputs (batch, steps, channels); one mask entry per sample and channel: (N, 1, C)."""

    def _noise_shape(self, shape: Shape) -> tuple[int, ...]:
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Inputs (batch, rows, cols, channels), or (batch, channels, rows, cols) with
    ``data_format="channels_first"``; one mask entry per sample and channel."""

    ndim = 4

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = backend.standardize_data_format(data_format)

    def _noise_shape(self, shape: Shape) -> tuple[int, ...]:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}

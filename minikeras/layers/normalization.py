"""Normalization (Keras' preprocessing layer): features shifted and scaled by the data's own
mean and variance, learned once by ``adapt(data)`` (or given), not by gradient descent.

With mean μ and variance σ² per position of the kept ``axis`` (the feature axis by default),
ε = ``backend.epsilon()``:

    y = (x - μ) / max(√σ², ε)                 (invert=True:  y = μ + x · max(√σ², ε))

``adapt(data)`` sets μ and σ² to the data's mean and (population) variance over every other
axis: one array, ``np.mean`` / ``np.var`` as Keras computes them; an iterable of batches
(a list, a generator), batch by batch, each batch's mean m_b and variance v_b (of n_b values)
merged into the running ones (n values so far) as Keras does:

    w_b = n_b / (n + n_b),  w = 1 - w_b
    μ'  = μ · w + m_b · w_b
    σ²' = (σ² + (μ - μ')²) · w + (v_b + (m_b - μ')²) · w_b

μ and σ² are non-trainable weights (``mean``, ``variance``, and Keras' unused ``count``), saved
with the model; given as ``mean=`` / ``variance=`` they are constants, not weights. Backward,
as μ and σ² do not depend on x:

    dL/dx = dy / max(√σ², ε)                  (invert=True:  dL/dx = dy · max(√σ², ε))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np  # adapt() runs on the host, as Keras' does for arrays

from minikeras import backend
from minikeras.layers.layer import Layer, Shape
from minikeras.utils.py_dataset import PyDataset
from minikeras.variable import Variable


class Normalization(Layer):
    """``y = (x - mean) / max(sqrt(variance), epsilon)``; see the module docstring."""

    def __init__(self, axis: int | tuple[int, ...] | list[int] | None = -1, mean: Any = None,
                 variance: Any = None, invert: bool = False, **kwargs: Any) -> None:
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        axes = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise TypeError("Normalization: `axis` must be an int, a tuple of ints or None. "
                            f"Received: axis={axis!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape {np.shape(mean)} "
                                 f"and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(axes):
                raise ValueError("The rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(axes)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {axes}")
        super().__init__(**kwargs)
        self.axis = axes
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.adapt_mean: Variable | None = None
        self.adapt_variance: Variable | None = None

    # ------------------------------------------------------------------ shapes and weights
    def _axes(self, shape: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(kept axes, reduced axes) for inputs of this shape, non-negative, sorted."""
        ndim = len(shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis} (layer "
                             f"'{self.name}').")
        keep = tuple(sorted(a % ndim for a in self.axis))
        return keep, tuple(d for d in range(ndim) if d not in keep)

    def build(self, input_shape: Shape) -> None:
        keep, _ = self._axes(input_shape)
        for d in keep:
            if input_shape[d] is None:
                raise ValueError("All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={tuple(input_shape)}, "
                                 f"with unknown axis at index {d} (layer '{self.name}').")
        self._keep = keep
        self._kept_shape = tuple(int(input_shape[d]) for d in keep)
        self._broadcast_shape = tuple(int(input_shape[d]) if d in keep else 1
                                      for d in range(len(input_shape)))
        if self.input_mean is not None:   # constants, aligned once to the inputs' rank
            self._given_host = (self._aligned(self.input_mean),
                                self._aligned(self.input_variance))
        else:
            self.adapt_mean = self.add_weight("mean", self._kept_shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", self._kept_shape, "ones",
                                                  trainable=False)
            # Keras keeps an int64 `count` weight for old files; it stays 0
            self.count = Variable(backend.to_device(np.zeros((), np.int64), np.int64),
                                  name=f"{self.name}/count", trainable=False)
            self._own_weights.append(self.count)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._axes(input_shape)
        return tuple(input_shape)

    def _mean_and_std(self, dtype: Any) -> tuple[Any, Any]:
        """μ and max(√σ², ε), shaped to broadcast onto the inputs."""
        xp = backend.xp
        if self.input_mean is None:
            mean = self.adapt_mean.value.reshape(self._broadcast_shape)
            variance = self.adapt_variance.value.reshape(self._broadcast_shape)
        else:
            mean, variance = (backend.to_device(a, dtype) for a in self._given_host)
        std = xp.maximum(xp.sqrt(variance.astype(dtype)), dtype.type(backend.epsilon()))
        return mean.astype(dtype), std

    def _aligned(self, value: Any) -> np.ndarray:
        """A given mean or variance, its dims aligned right to left with the kept axes (a
        number applies everywhere), broadcast to the inputs' rank (host, float64)."""
        array = np.asarray(value, dtype=np.float64)
        shape = [1] * len(self._broadcast_shape)
        for i in range(1, array.ndim + 1):
            shape[self._keep[-i]] = array.shape[-i]
        return np.broadcast_to(array.reshape(shape), self._broadcast_shape)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: Any, training: bool = False) -> Any:
        mean, std = self._mean_and_std(inputs.dtype)
        self.cache = std
        if self.invert:
            y = mean + inputs * std
        else:
            y = (inputs - mean) / std
        return y

    def backward(self, grad_output: Any) -> Any:
        """μ and σ² are constants of x: dx = dy / max(√σ², ε) (invert: dy · max(√σ², ε))."""
        std = self.cache
        dx = grad_output * std if self.invert else grad_output / std
        return dx

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any) -> None:
        """Set mean and variance from ``data``: an array, a ``PyDataset``, or an iterable of
        batches (a list, a generator; a tuple batch counts by its first element, x), as Keras
        does."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization layer '{self.name}' was given `mean` and "
                             "`variance`; adapt() would have nothing to set.")
        batches = self._as_batches(data)
        first = next(batches, None)
        if first is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at "
                             "least one batch. Pass a non-empty iterable of arrays, e.g. "
                             "layer.adapt([x]) or layer.adapt(list_of_batches).")
        if not self.built:
            self.build_for(tuple(first.shape))
        keep, reduce_axes = self._axes(tuple(first.shape))
        total_mean = total_var = None
        total_count = 0
        for batch in [first, *batches]:
            if tuple(batch.shape[d] for d in keep) != self._kept_shape:
                raise ValueError(f"adapt() yielded a batch with incompatible shape. Expected "
                                 f"the kept axes {self._kept_shape}, got {tuple(batch.shape)} "
                                 f"(layer '{self.name}').")
            batch_mean = np.mean(batch, axis=reduce_axes)                       # m_b
            batch_var = np.var(batch, axis=reduce_axes)                         # v_b
            batch_count = math.prod(batch.shape[d] for d in reduce_axes)        # n_b
            if total_mean is None:
                total_mean, total_var, total_count = batch_mean, batch_var, batch_count
                continue
            total_count += batch_count
            batch_weight = batch_count / total_count                            # w_b
            existing_weight = 1.0 - batch_weight                                # w
            new_mean = total_mean * existing_weight + batch_mean * batch_weight  # μ'
            total_var = ((total_var + (total_mean - new_mean) ** 2) * existing_weight
                         + (batch_var + (batch_mean - new_mean) ** 2) * batch_weight)  # σ²'
            total_mean = new_mean
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)

    def _as_batches(self, data: Any) -> Any:
        """An iterator of host arrays: the array itself, or each batch of an iterable."""
        if isinstance(data, np.ndarray) or hasattr(data, "__array_interface__") or hasattr(
                data, "__cuda_array_interface__"):
            return iter([np.asarray(backend.to_numpy(data))])
        if isinstance(data, PyDataset):   # its batches, in order
            return (self._host_batch(data[index]) for index in range(len(data)))
        if isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
            return (self._host_batch(b) for b in data)
        raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports NumPy arrays, "
                        "keras.utils.PyDataset and iterables of batches (a list, a generator).")

    def _host_batch(self, batch: Any) -> np.ndarray:
        if isinstance(batch, tuple):   # (x, y) batches: adapt to x
            batch = batch[0]
        if not hasattr(batch, "shape"):
            raise TypeError("adapt() expects an iterable that yields arrays with a `.shape` "
                            f"attribute. Got an element of type {type(batch).__name__}.")
        return np.asarray(backend.to_numpy(batch), dtype=self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}

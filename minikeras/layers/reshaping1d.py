"""The 1-D reshaping layers of sequences (batch, steps, features): ZeroPadding1D, Cropping1D,
UpSampling1D (the 2-D ones: ``ZeroPadding2D``/``UpSampling2D`` in convolutional.py,
``Cropping2D`` in cropping.py). Each only moves or repeats entries along the steps axis:

    ZeroPadding1D  y = [0]*left + x + [0]*right        dx = dy[left : T_out - right]
    Cropping1D     y = x[start : T - end]               dx = zeros, with dx[start : T - end] = dy
    UpSampling1D   y[t] = x[t // size]                  dx[t] = Σ_{j < size} dy[t·size + j]
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from minikeras import backend
from minikeras.layers.layer import InputSpec, Layer, Shape


def _pair_of_non_negative_ints(layer: str, value: Any, name: str) -> tuple[int, int]:
    """An int (both ends) or a pair of ints, all >= 0, as Keras' ``standardize_tuple``."""
    def is_int(v: Any) -> bool:
        return isinstance(v, Integral) and not isinstance(v, bool)

    pair = (value, value) if is_int(value) else value
    if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(is_int(v) for v in pair):
        raise ValueError(f"{layer}: the `{name}` argument must be a tuple of 2 integers. "
                         f"Received {name}={value!r}")
    if min(pair) < 0:
        raise ValueError(f"{layer}: the `{name}` argument must be a tuple of 2 integers. "
                         f"Received {name}={value!r}, including values that do not satisfy "
                         "`value >= 0`")
    return int(pair[0]), int(pair[1])


class _Sequence1D(Layer):
    """Inputs of rank 3; the steps axis is 1 (2 for ZeroPadding1D's channels_first)."""

    steps_axis = 1

    def _check(self, x: Any) -> None:
        """A clear error for data that is not 3-D (forward may be called without __call__)."""
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' expects 3-D input "
                             f"(batch, steps, features); received shape {tuple(x.shape)}.")

    def _steps(self, start: int, stop_from_end: int, length: int) -> tuple[slice, ...]:
        """The index of steps [start, length - stop_from_end) along the steps axis."""
        index = [slice(None)] * 3
        index[self.steps_axis] = slice(start, length - stop_from_end)
        return tuple(index)


class ZeroPadding1D(_Sequence1D):
    """Add ``padding = (left, right)`` zero steps at the ends of each sequence."""

    def __init__(self, padding: Any = 1, data_format: str | None = None,
                 **kwargs: Any) -> None:
        self.padding = _pair_of_non_negative_ints("ZeroPadding1D", padding, "padding")
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.steps_axis = 2 if self.data_format == "channels_first" else 1
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        length = out[self.steps_axis]
        out[self.steps_axis] = None if length is None else length + sum(self.padding)
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self._check(inputs)
        widths = [(0, 0)] * 3
        widths[self.steps_axis] = self.padding
        y = backend.xp.pad(inputs, widths)
        return y

    def backward(self, grad_output: Any) -> Any:
        """y = x with zero steps at both ends; the zeros do not depend on x, so dx is dy
        without them: dx = dy[left : T_out - right]."""
        left, right = self.padding
        dx = grad_output[self._steps(left, right, grad_output.shape[self.steps_axis])]
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class Cropping1D(_Sequence1D):
    """Cut ``cropping = (start, end)`` steps off the ends of each sequence."""

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        self.cropping = _pair_of_non_negative_ints("Cropping1D", cropping, "cropping")
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        length = out[1]
        if length is not None and sum(self.cropping) >= length:
            raise ValueError(f"`cropping` parameter of `Cropping1D` layer ({self.name}) must be "
                             f"smaller than the input length. Received: "
                             f"input_shape={tuple(input_shape)}, cropping={self.cropping}")
        out[1] = None if length is None else length - sum(self.cropping)
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self._check(inputs)
        self.compute_output_shape(tuple(inputs.shape))   # a clear error if nothing is left
        self.cache = tuple(inputs.shape)
        start, end = self.cropping
        y = inputs[self._steps(start, end, inputs.shape[1])]
        return y

    def backward(self, grad_output: Any) -> Any:
        """y = x[start : T - end]: the kept steps pass dy through, the cropped ones got none,
        so dx = zeros of x's shape with dx[start : T - end] = dy."""
        shape = self.cache
        start, end = self.cropping
        dx = backend.xp.zeros(shape, dtype=grad_output.dtype)
        dx[self._steps(start, end, shape[1])] = grad_output
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}


class UpSampling1D(_Sequence1D):
    """Repeat each step ``size`` times: (N, T, C) -> (N, T·size, C)."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        if not isinstance(size, Integral) or isinstance(size, bool):
            raise TypeError(f"UpSampling1D: expected an integer value for `size`. Received: "
                            f"size={size!r} (of type {type(size).__name__}).")
        if size <= 0:
            raise ValueError(f"UpSampling1D: argument `size` should be a positive integer. "
                             f"Received: size={size}")
        super().__init__(**kwargs)
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        out[1] = None if out[1] is None else out[1] * self.size
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self._check(inputs)
        y = backend.xp.repeat(inputs, self.size, axis=1)
        return y

    def backward(self, grad_output: Any) -> Any:
        """y[t] = x[t // size]: each input step fed ``size`` consecutive output steps, so
        dx[t] = Σ_j dy[t·size + j] (a reshape that exposes the repeats, then a sum)."""
        n, steps, channels = grad_output.shape
        blocks = grad_output.reshape(n, steps // self.size, self.size, channels)
        dx = blocks.sum(axis=2)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}

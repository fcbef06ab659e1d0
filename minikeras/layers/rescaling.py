"""Rescaling: ``y = x * scale + offset``, the usual first layer of an image model (``1/255``).

``scale`` and ``offset`` are numbers, or arrays that broadcast onto each input (one value per
channel, say); they are constants, not weights. Backward:

    dL/dx = dy * scale        (offset is a constant: it adds nothing to the gradient)
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np  # host-side checks of the constants only

from minikeras import backend
from minikeras.layers.layer import Layer, Shape


def _constant(layer: str, name: str, value: Any) -> np.ndarray:
    """A number or an array-like of numbers, as a float64 host array (a clear error else)."""
    if isinstance(value, bool) or not (isinstance(value, Real) or isinstance(
            value, list | tuple | np.ndarray)):
        raise TypeError(f"{layer}: `{name}` must be a number or an array of numbers. "
                        f"Received: {name}={value!r} (of type {type(value).__name__}).")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{layer}: `{name}` must be a number or an array of numbers. "
                        f"Received: {name}={value!r}.") from None
    return array


def _config_value(value: Any) -> Any:
    """A constant as Keras' config holds it: numbers as given, arrays as nested lists."""
    return value.tolist() if isinstance(value, np.ndarray) else value


class Rescaling(Layer):
    """``y = x * scale + offset``; backward ``dx = dy * scale``."""

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        self._scale_host = _constant("Rescaling", "scale", scale)
        self._offset_host = _constant("Rescaling", "offset", offset)
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self._device_constants: dict[str, tuple[Any, Any]] = {}

    def _constants(self, dtype: Any) -> tuple[Any, Any]:
        """scale and offset as arrays of the current backend in ``dtype`` (made once)."""
        key = f"{backend.backend()}:{np.dtype(dtype)}"
        if key not in self._device_constants:
            self._device_constants[key] = (backend.to_device(self._scale_host, dtype),
                                           backend.to_device(self._offset_host, dtype))
        return self._device_constants[key]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        known = tuple(1 if d is None else d for d in shape)
        for name, constant in (("scale", self._scale_host), ("offset", self._offset_host)):
            try:
                grown = np.broadcast_shapes(known, constant.shape) != known
            except ValueError:
                grown = True
            if grown:
                raise ValueError(f"Rescaling layer '{self.name}': `{name}` of shape "
                                 f"{constant.shape} does not broadcast onto inputs of shape "
                                 f"{shape}.")
        return shape

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self.compute_output_shape(tuple(inputs.shape))
        scale, offset = self._constants(inputs.dtype)
        self.cache = scale
        y = inputs * scale + offset
        return y

    def backward(self, grad_output: Any) -> Any:
        """y = x * scale + offset, so dx = dy * scale."""
        scale = self.cache
        dx = grad_output * scale
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": _config_value(self.scale),
                "offset": _config_value(self.offset)}

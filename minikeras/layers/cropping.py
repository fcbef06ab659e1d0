"""Cropping2D: cut rows and columns off the borders of each image (ZeroPadding2D's inverse)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

from minikeras import backend
from minikeras.layers.convolutional import _check_data, spatial_axes
from minikeras.layers.layer import InputSpec, Layer, Shape


def _standardize_cropping(cropping: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int (all four sides), ``(rows, cols)`` (symmetric) or ``((top, bottom), (left,
    right))`` -> ((top, bottom), (left, right)), all non-negative ints."""
    def is_int(v: Any) -> bool:
        return isinstance(v, Integral) and not isinstance(v, bool)

    try:
        if is_int(cropping):
            crops = ((cropping, cropping), (cropping, cropping))
        elif len(cropping) == 2 and all(is_int(c) for c in cropping):
            crops = ((cropping[0], cropping[0]), (cropping[1], cropping[1]))
        else:
            crops = tuple(tuple(c) for c in cropping)
    except TypeError:
        crops = ()
    if (len(crops) != 2 or any(len(c) != 2 for c in crops)
            or not all(is_int(v) and v >= 0 for c in crops for v in c)):
        raise ValueError("Cropping2D: `cropping` should be an int, a tuple of 2 ints or a "
                         "tuple of 2 tuples of 2 non-negative ints ((top, bottom), (left, "
                         f"right)). Received: cropping={cropping!r}")
    return tuple((int(a), int(b)) for a, b in crops)  # type: ignore[return-value]


class Cropping2D(Layer):
    """``y = x[:, top : H - bottom, left : W - right]`` (rows and columns of each image)."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _standardize_cropping(cropping)
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 4:
            raise ValueError(f"Cropping2D layer '{self.name}' expects 4-D input (batch, rows, "
                             f"cols, channels); received shape {tuple(input_shape)}.")
        out = list(input_shape)
        for axis, (a, b) in zip(spatial_axes(self.data_format)[:2], self.cropping, strict=True):
            if out[axis] is None:
                continue
            if a + b >= out[axis]:
                raise ValueError(
                    f"Cropping2D layer '{self.name}': cropping {self.cropping} removes all of "
                    f"axis {axis} of an input of shape {tuple(input_shape)} "
                    f"({self.data_format}): each axis must keep at least one cell.")
            out[axis] = out[axis] - a - b
        return tuple(out)

    def _window(self, shape: tuple[int, ...]) -> tuple[slice, ...]:
        """The index of the kept block: all of batch and channels, the cropped rows/cols."""
        (top, bottom), (left, right) = self.cropping
        ah, aw, _ = spatial_axes(self.data_format)
        index = [slice(None)] * 4
        index[ah] = slice(top, shape[ah] - bottom)
        index[aw] = slice(left, shape[aw] - right)
        return tuple(index)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        self.compute_output_shape(tuple(inputs.shape))   # a clear error if nothing is left
        self.cache = tuple(inputs.shape)
        return inputs[self._window(tuple(inputs.shape))]

    def backward(self, grad_output: Any) -> Any:
        """y = x[kept block]: the kept cells pass dy through, the cropped ones got none, so
        dx = zeros of x's shape with dx[kept block] = dy (ZeroPadding2D's forward)."""
        shape = self.cache
        dx = backend.xp.zeros(shape, dtype=grad_output.dtype)
        dx[self._window(shape)] = grad_output
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}

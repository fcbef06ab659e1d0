"""1-D pooling: MaxPooling1D, AveragePooling1D and their global versions.

A sequence (N, L, C) is an image (N, 1, L, C) one row high, and a pool of p steps is a 1 x p
2-D pool: the windowed 1-D layers hand the work to the 2-D layers of ``pooling.py`` (the same
window bookkeeping, 'same' padding and tie rule), adding and removing the height-1 axis
around them. (TensorFlow computes its 1-D pooling the same way.)
"""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.convolutional import standardize_padding, standardize_tuple
from minikeras.layers.layer import InputSpec, Layer, Shape
from minikeras.layers.pooling import AveragePooling2D, MaxPooling2D, _Pooling2D


def _check_3d(layer: Layer, shape: Any) -> None:
    if len(shape) != 3:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' expects 3-D input "
                         f"(batch, steps, channels); received shape {tuple(shape)}.")


class _Pooling1D(Layer):
    """Shared arguments and the (N, L, C) <-> (N, 1, L, C) views around a 2-D pool."""

    _pool2d_class: type[_Pooling2D]

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.pool_size = standardize_tuple(pool_size, 1, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else standardize_tuple(strides, 1, "strides"))
        self.padding = standardize_padding(padding)
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)
        # The 2-D pool that does the work; it holds no weights and is not a sub-layer: its
        # cache is copied into ours after each forward (shared layers swap ``self.cache``).
        self._pool2d = self._pool2d_class(pool_size=(1, self.pool_size[0]),
                                          strides=(1, self.strides[0]), padding=self.padding,
                                          data_format=self.data_format,
                                          name=f"{self.name}_as_2d")

    def _image_axis(self) -> int:
        """Where the height-1 axis goes: before the steps axis."""
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _check_3d(self, input_shape)
        image = list(input_shape)
        image.insert(self._image_axis(), 1)
        out = list(self._pool2d.compute_output_shape(tuple(image)))
        del out[self._image_axis()]
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_3d(self, inputs.shape)
        self.compute_output_shape(tuple(inputs.shape))   # a clear error for a short input
        image = backend.xp.expand_dims(inputs, self._image_axis())
        y_image = self._pool2d.forward(image, training)
        self.cache = self._pool2d.cache
        return y_image.squeeze(self._image_axis())

    def _backward_through_2d(self, grad_output: Any) -> Any:
        """dx = the 2-D pool's dx for dy seen as a height-1 image, squeezed back."""
        self._pool2d.cache = self.cache
        dy_image = backend.xp.expand_dims(grad_output, self._image_axis())
        return self._pool2d.backward(dy_image).squeeze(self._image_axis())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """``y[n, t, c] = max over the window of steps`` (see ``MaxPooling2D``)."""

    _pool2d_class = MaxPooling2D

    def backward(self, grad_output: Any) -> Any:
        """y[o] = max_{t in window o} x[t]; each output's gradient goes to the first step of
        its window holding the max (TensorFlow's rule; MaxPooling2D.backward does it):

            dx[t] = Σ_{windows o whose winner is t} dy[o]
        """
        return self._backward_through_2d(grad_output)


class AveragePooling1D(_Pooling1D):
    """``y = mean over the window's real steps`` ('same' border windows average only the steps
    inside the sequence; see ``AveragePooling2D``)."""

    _pool2d_class = AveragePooling2D

    def backward(self, grad_output: Any) -> Any:
        """y[o] = (Σ_{t in window o} x[t]) / count[o], count = real (unpadded) steps, so

            dx[t] = Σ_{windows o containing t} dy[o] / count[o]
        """
        return self._backward_through_2d(grad_output)


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D


class _GlobalPooling1D(Layer):
    """Reduce over the steps axis: (N, L, C) -> (N, C), or (N, 1, C) with ``keepdims``."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        if not isinstance(keepdims, bool):
            raise TypeError(f"{type(self).__name__}: `keepdims` must be True or False. "
                            f"Received: keepdims={keepdims!r}")
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=3)

    def _steps_axis(self) -> int:
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _check_3d(self, input_shape)
        out = list(input_shape)
        if self.keepdims:
            out[self._steps_axis()] = 1
        else:
            del out[self._steps_axis()]
        return tuple(out)

    def _expand(self, grad: Any) -> Any:
        """dy in the keepdims shape, ready to broadcast against the input."""
        return grad if self.keepdims else backend.xp.expand_dims(grad, self._steps_axis())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """``y = mean over the steps``; backward spreads dy / L over every step."""

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_3d(self, inputs.shape)
        self.cache = tuple(inputs.shape)
        return inputs.mean(axis=self._steps_axis(), keepdims=self.keepdims)

    def backward(self, grad_output: Any) -> Any:
        """y[n, c] = (1/L) Σ_t x[n, t, c], so dx[n, t, c] = dy[n, c] / L."""
        shape = self.cache
        share = self._expand(grad_output) / shape[self._steps_axis()]
        return backend.xp.broadcast_to(share, shape).copy()


class GlobalMaxPooling1D(_GlobalPooling1D):
    """``y = max over the steps``; backward splits dy equally among the steps equal to the max
    (TensorFlow's gradient of ``reduce_max``, which Keras uses here)."""

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_3d(self, inputs.shape)
        y = inputs.max(axis=self._steps_axis(), keepdims=True)
        self.cache = (inputs, y)
        return y if self.keepdims else y.squeeze(self._steps_axis())

    def backward(self, grad_output: Any) -> Any:
        """y = max_t x[t]; dy is split equally among the steps tied at the max:
        dx = dy ⊙ [x == y] / #{steps with x == y}.
        """
        x, y = self.cache
        hit = x == y
        count = hit.sum(axis=self._steps_axis(), keepdims=True).astype(x.dtype)
        return hit * (self._expand(grad_output) / count)


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D

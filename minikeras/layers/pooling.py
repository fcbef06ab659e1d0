"""Pooling layers: MaxPooling2D, AveragePooling2D and their global versions.

A pooling window is a convolution window without weights, so the same picture applies as in
``im2col.py``: output (y, x) looks at the padded cells (y*sh + ky, x*sw + kx) for every tap
(ky, kx) of the pool. Instead of building patch rows (there is no matrix product to feed),
we loop over the few taps (4 for a 2x2 pool) and combine whole (N, oh, ow, C) strided
slices at once: ``maximum`` for max pooling, ``+`` for average pooling. Each tap is one
vectorised operation over the whole batch, and no (N, oh, ow, kh*kw, C) temporary is built.

Both data formats compute in NHWC: a channels_first input is only *viewed* as NHWC (as Keras
does on TF, which transposes around its pooling op), and NumPy's ``copy`` and element-wise
operations keep the memory order of their inputs, so the result comes back as NCHW without
a transposing copy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minikeras import backend
from minikeras.layers import im2col as ic
from minikeras.layers.convolutional import (
    _check_data,
    spatial_axes,
    standardize_padding,
    standardize_tuple,
    windowed_output_shape,
)
from minikeras.layers.layer import InputSpec, Layer, Shape


class _Pooling2D(Layer):
    """Shared arguments, shapes and window bookkeeping of the 2-D pooling layers."""

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = standardize_tuple(pool_size, 2, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else standardize_tuple(strides, 2, "strides"))
        self.padding = standardize_padding(padding)
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return windowed_output_shape(self, tuple(input_shape), self.pool_size, self.strides,
                                     (1, 1), self.padding, None)

    def _taps(self) -> list[tuple[int, int]]:
        return [(ky, kx) for ky in range(self.pool_size[0]) for kx in range(self.pool_size[1])]

    def _windows(self, x: Any, pad_value: float) -> tuple[Any, ic.Pads, tuple[int, int]]:
        """The padded NHWC input, the padding applied and the output (oh, ow)."""
        _check_data(self, x)
        shape = tuple(x.shape)
        out_shape = self.compute_output_shape(shape)
        ah, aw, _ = spatial_axes(self.data_format)
        pads = ic.padding_amounts((shape[ah], shape[aw]), self.pool_size, self.strides,
                                  (1, 1), self.padding)
        xpad = ic.to_padded_nhwc(x, pads, self.data_format == "channels_first", pad_value)
        return xpad, pads, (out_shape[ah], out_shape[aw])

    def _slice(self, xpad: Any, tap: tuple[int, int], out_hw: tuple[int, int]) -> Any:
        return ic.offset_slice(xpad, tap[0], tap[1], out_hw, self.strides)

    def _nhwc(self, a: Any) -> Any:
        return a.transpose(0, 2, 3, 1) if self.data_format == "channels_first" else a

    def _from_nhwc(self, a: Any) -> Any:
        return a.transpose(0, 3, 1, 2) if self.data_format == "channels_first" else a

    def _crop(self, dxpad: Any, pads: ic.Pads) -> Any:
        return self._from_nhwc(ic.crop_padding(dxpad, pads))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPoolCache(NamedTuple):
    """What ``MaxPooling2D.forward`` keeps for ``backward`` (a stable contract: exercises
    that rewrite the backward read it by these names)."""

    xpad: Any                  # the input as padded NHWC, -inf in the padding
    pads: ic.Pads              # ((top, bottom), (left, right)) padding applied
    out_hw: tuple[int, int]    # output rows and columns (oh, ow)
    y: Any                     # the NHWC output: the maximum of each window


class MaxPooling2D(_Pooling2D):
    """``y[n, y, x, c] = max over the window`` (padded cells are -inf, so they never win).

    Backward: the whole gradient of an output goes to the *first* input cell (in row-major
    window order) that holds the maximum, as TensorFlow does; tied cells get nothing.
    ``self.cache`` is a ``MaxPoolCache``.
    """

    def forward(self, inputs: Any, training: bool = False) -> Any:
        """y[n, i, j, c] = max over the taps (ky, kx) of xpad[n, i*sh + ky, j*sw + kx, c]:
        a running maximum, y = max(y, x_tap), over the taps' (N, oh, ow, C) slices."""
        xp = backend.xp
        xpad, pads, out_hw = self._windows(inputs, float("-inf"))
        first_tap, *other_taps = self._taps()
        # xp.copy keeps the input's memory order (order="K"): a channels_first y stays NCHW
        y = xp.copy(self._slice(xpad, first_tap, out_hw))
        for tap in other_taps:
            x_tap = self._slice(xpad, tap, out_hw)
            xp.maximum(y, x_tap, out=y)  # y = max(y, x_tap)
        self.cache = MaxPoolCache(xpad, pads, out_hw, y)
        return self._from_nhwc(y)

    def backward(self, grad_output: Any) -> Any:
        """y[o] = max_{cells k of window o} xpad[k]. Each output's gradient goes to one cell,
        its window's first (row-major) maximum:

            winner[o] = argmax_k xpad[window o, k]   (the first cell equal to y[o]: ties
                                                      go to the first maximum)
            dx_pad    = 0;  dx_pad[cell winner[o] of window o] += dy[o]   for every o
            dx        = dx_pad without the padding
        """
        xpad, pads, out_hw, y = self.cache
        dy = self._nhwc(grad_output)
        windows = ic.patch_view(xpad, self.pool_size, out_hw, self.strides, (1, 1))
        winner = ic.window_argmax(windows, y)
        dx_pad = ic.add_at_window_cells(dy, winner, xpad.shape, self.pool_size, self.strides)
        return self._crop(dx_pad, pads)


class AveragePooling2D(_Pooling2D):
    """``y = (sum of the window's valid cells) / (their count)``.

    With 'same' padding, windows at the border average only over real input cells, as in
    Keras/TF (padded cells count neither in the sum nor in the divisor).
    Backward: each cell of a window receives dy / count, summed over the windows it is in.
    """

    def forward(self, inputs: Any, training: bool = False) -> Any:
        """total[o] = Σ over the taps of xpad (0 in the padding), count[o] = the window's real
        cells, y = total / count."""
        xp = backend.xp
        xpad, pads, out_hw = self._windows(inputs, 0.0)
        first_tap, *other_taps = self._taps()
        # xp.copy keeps the input's memory order (order="K"): a channels_first y stays NCHW
        total = xp.copy(self._slice(xpad, first_tap, out_hw))
        for tap in other_taps:
            x_tap = self._slice(xpad, tap, out_hw)
            total += x_tap
        count = self._counts(xpad, pads, out_hw)
        self.cache = (tuple(xpad.shape), xpad.dtype, pads, out_hw, count)
        return self._from_nhwc(total / count)

    def _counts(self, xpad: Any, pads: ic.Pads, out_hw: tuple[int, int]) -> Any:
        """How many real (unpadded) cells each window covers: a (1, oh, ow, 1) array."""
        if pads == ((0, 0), (0, 0)):
            return float(self.pool_size[0] * self.pool_size[1])
        xp = backend.xp
        (top, bottom), (left, right) = pads
        _, hp, wp, _ = xpad.shape
        is_real = xp.zeros((1, hp, wp, 1), dtype=xpad.dtype)  # 1 on input cells, 0 on padding
        is_real[:, top:hp - bottom, left:wp - right, :] = 1
        count = xp.zeros((1, *out_hw, 1), dtype=xpad.dtype)
        for tap in self._taps():
            count += self._slice(is_real, tap, out_hw)
        return count

    def backward(self, grad_output: Any) -> Any:
        """y[o] = (Σ_{c in window o} x[c]) / count[o], count = real (unpadded) cells, so

            dx[c] = Σ_{windows o containing c} dy[o] / count[o]
        """
        xp = backend.xp
        padded_shape, dtype, pads, out_hw, count = self.cache
        share = self._nhwc(grad_output) / count  # dy[o] / count[o], what each cell of o gets
        dx_pad = xp.zeros(padded_shape, dtype=dtype)
        for tap in self._taps():
            dx_at_tap = self._slice(dx_pad, tap, out_hw)  # the cell of every window at tap
            dx_at_tap += share
        return self._crop(dx_pad, pads)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(Layer):
    """Reduce over the two spatial axes: (N, H, W, C) -> (N, C), or (N, 1, 1, C) if keepdims."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=4)

    def _axes(self) -> tuple[int, int]:
        return spatial_axes(self.data_format)[:2]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        ah, aw = self._axes()
        if self.keepdims:
            out = list(input_shape)
            out[ah] = out[aw] = 1
            return tuple(out)
        return (input_shape[0], input_shape[spatial_axes(self.data_format)[2]])

    def _expand(self, grad: Any) -> Any:
        """dy in the keepdims shape, ready to broadcast against the input."""
        return grad if self.keepdims else backend.xp.expand_dims(grad, self._axes())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """``y = mean over H, W``; backward spreads dy / (H*W) over every cell."""

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        self.cache = tuple(inputs.shape)
        return inputs.mean(axis=self._axes(), keepdims=self.keepdims)

    def backward(self, grad_output: Any) -> Any:
        """y[n, ch] = (1 / (H·W)) Σ_{h,w} x[n, h, w, ch],
        so dx[n, h, w, ch] = dy[n, ch] / (H·W)."""
        shape = self.cache
        ah, aw = self._axes()
        share = self._expand(grad_output) / (shape[ah] * shape[aw])
        return backend.xp.broadcast_to(share, shape).copy()


class GlobalMaxPooling2D(_GlobalPooling2D):
    """``y = max over H, W``; backward splits dy equally among the cells equal to the max
    (TensorFlow's gradient of ``reduce_max``, which Keras uses here)."""

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        y = inputs.max(axis=self._axes(), keepdims=True)
        self.cache = (inputs, y)
        return y if self.keepdims else y.reshape(self.compute_output_shape(inputs.shape))

    def backward(self, grad_output: Any) -> Any:
        """y = max_{h,w} x; dy is split equally among the cells tied at the max:
        dx = dy ⊙ [x == y] / #{cells with x == y}.
        """
        x, y = self.cache
        hit = x == y
        count = hit.sum(axis=self._axes(), keepdims=True).astype(x.dtype)
        return hit * (self._expand(grad_output) / count)


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D

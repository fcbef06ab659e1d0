"""Conv2D (via im2col, see ``im2col.py``), ZeroPadding2D and UpSampling2D.

Internally every layer here computes in channels_last (N, H, W, C): the kernel is stored as
(kh, kw, C_in, F) in both data formats (as Keras does), and that layout is exactly the
(kh*kw*C, F) matrix the im2col product needs. A channels_first input is viewed as NHWC
(a transpose is free: it only swaps strides) and the NHWC result is handed back as an NCHW
view, so no extra copies are made for either format.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, NamedTuple

from minikeras import activations, backend, initializers
from minikeras.layers import im2col as ic
from minikeras.layers.core import _ActivationMixin
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported


def standardize_tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    """``3`` -> ``(3, 3)``; a tuple is checked to hold ``n`` positive ints."""
    out = (value,) * n if isinstance(value, Integral) else tuple(value)
    if len(out) != n or not all(isinstance(v, Integral) and v > 0 for v in out):
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} positive "
                         f"integers. Received: {name}={value!r}")
    return tuple(int(v) for v in out)


def standardize_padding(value: str) -> str:
    padding = str(value).lower()
    if padding not in ("valid", "same"):
        raise ValueError("The `padding` argument must be one of 'valid', 'same'. "
                         f"Received: padding={value!r}")
    return padding


def spatial_axes(data_format: str) -> tuple[int, int, int]:
    """(height axis, width axis, channel axis) of a 4-D tensor."""
    return (2, 3, 1) if data_format == "channels_first" else (1, 2, 3)


def windowed_output_shape(layer: Layer, input_shape: Shape, kernel: tuple[int, int],
                          strides: tuple[int, int], dilation: tuple[int, int],
                          padding: str, channels: int | None) -> Shape:
    """Output shape of a sliding-window layer (Conv2D, pooling); errors name the layer."""
    if len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' expects 4-D input "
                         f"(batch, rows, cols, channels); received shape {tuple(input_shape)}.")
    ah, aw, ac = spatial_axes(layer.data_format)
    out = [ic.output_length(input_shape[a], k, s, d, padding)
           for a, k, s, d in zip((ah, aw), kernel, strides, dilation, strict=True)]
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': computed output size would be zero "
            f"or negative: input shape {tuple(input_shape)} ({layer.data_format}), window "
            f"{kernel}, strides {strides}, dilation {dilation}, padding='{padding}'. The "
            "window is larger than the input: use padding='same' or a smaller window."
        )
    result: list[int | None] = list(input_shape)
    result[ah], result[aw] = out
    if channels is not None:
        result[ac] = channels
    return tuple(result)


def _check_data(layer: Layer, x: Any) -> None:
    """Raise a clear ValueError for non-4-D data (forward may be called without __call__)."""
    if x.ndim != 4:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}' expects 4-D input "
                         f"(batch, rows, cols, channels); received shape {tuple(x.shape)}.")


class Conv2DCache(NamedTuple):
    """What ``Conv2D.forward`` keeps for ``backward`` (a stable contract: exercises that
    rewrite the backward, and subclasses, read it by these names)."""

    cols: Any                          # im2col(pad(x)): (N*oh*ow, kh*kw*C), one patch per row
    padded_shape: tuple[int, ...]      # shape of the padded NHWC input (col2im's target)
    pads: ic.Pads                      # ((top, bottom), (left, right)) padding applied
    out_hw: tuple[int, int]            # output rows and columns (oh, ow)
    z: Any                             # pre-activation, in the output layout
    y: Any                             # activation(z), the layer's output


class Conv2D(_ActivationMixin, Layer):
    """2-D convolution: ``y = activation(conv(x, kernel) + bias)``, computed by im2col.

    Forward, with cols = im2col(pad(x)) of shape (M, K), M = N*oh*ow, K = kh*kw*C, and
    W = kernel.reshape(K, F):

        z = cols @ W + bias            (M, F), i.e. (N, oh, ow, F); channels_first hands it
                                       back as an (N, F, oh, ow) view
        y = activation(z)              on the output layout (softmax: its last axis, as Keras)

    Backward, with dz = activation'(z) * dy (or the loss' own dL/dz for softmax):

        dL/dW    = cols^T @ dz          -> reshaped to (kh, kw, C, F)
        dL/dbias = sum of dz over rows
        dL/dx    = col2im(dz @ W^T)     (each patch gradient added back where it was read,
                                         the padding cropped; computed offset by offset,
                                         without the (M, K) dz @ W^T: conv_input_grad)

    ``self.cache`` is a ``Conv2DCache`` (cols, padded_shape, pads, out_hw, z, y).
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(filters, Integral) or filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly "
                             f"positive integer. Received filters={filters!r}.")
        reject_unsupported("Conv2D", kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if groups != 1:
            raise NotImplementedError("Conv2D: `groups` other than 1 is not supported yet.")
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = standardize_tuple(strides, 2, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            # Keras (TF) refuses this combination; so do we, to stay a faithful copy.
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate "
                             f"> 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = standardize_padding(padding)
        self.data_format = backend.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(ndim=4)

    # ------------------------------------------------------------------ shapes and weights
    def _channels(self, shape: Shape) -> int | None:
        return shape[spatial_axes(self.data_format)[2]] if len(shape) == 4 else None

    def build(self, input_shape: Shape) -> None:
        channels = self._channels(input_shape)
        if channels is None:
            raise ValueError(f"Conv2D layer '{self.name}': the channel axis of its input must "
                             f"be known ({self.data_format}); got input shape {input_shape}.")
        self.compute_output_shape(input_shape)  # validates sizes before creating weights
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.filters),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={spatial_axes(self.data_format)[2]: channels})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return windowed_output_shape(self, tuple(input_shape), self.kernel_size, self.strides,
                                     self.dilation_rate, self.padding, self.filters)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        shape = tuple(inputs.shape)
        out_shape = self.compute_output_shape(shape)
        expected = self.kernel.shape[2]
        if self._channels(shape) != expected:
            raise ValueError(f"Conv2D layer '{self.name}' was built for {expected} input "
                             f"channels ({self.data_format}) but received input of shape "
                             f"{shape}.")
        ah, aw, _ = spatial_axes(self.data_format)
        out_hw = (out_shape[ah], out_shape[aw])
        pads = ic.padding_amounts((shape[ah], shape[aw]), self.kernel_size, self.strides,
                                  self.dilation_rate, self.padding)
        xpad = ic.to_padded_nhwc(inputs, pads, self.data_format == "channels_first")
        self.cache = None   # the last step's patch matrix goes before this one is made
        cols = ic.im2col(xpad, self.kernel_size, out_hw, self.strides, self.dilation_rate)
        z = cols @ self.kernel.value.reshape(-1, self.filters)
        if self.use_bias:
            z += self.bias.value  # z is a fresh matmul result, so adding in place is safe
        # The activation sees the output layout: softmax on channels_first output acts on
        # the last (width) axis, as in Keras. Element-wise ones keep NHWC memory order.
        z = self._to_output(z, shape[0], out_hw)
        y = self._activate(z)
        self.cache = Conv2DCache(cols, tuple(xpad.shape), pads, out_hw, z, y)
        return y

    def _to_output(self, rows: Any, n: int, out_hw: tuple[int, int]) -> Any:
        """(N*oh*ow, F) rows -> (N, oh, ow, F), or an (N, F, oh, ow) view for channels_first."""
        out = rows.reshape(n, out_hw[0], out_hw[1], self.filters)
        return out.transpose(0, 3, 1, 2) if self.data_format == "channels_first" else out

    def _to_rows(self, grad: Any) -> Any:
        """The inverse of ``_to_output`` (copies only if the gradient is not NHWC in memory)."""
        if self.data_format == "channels_first":
            grad = grad.transpose(0, 2, 3, 1)
        return grad.reshape(-1, self.filters)

    def output_logits(self) -> Any:
        return self.cache.z if self.activation.has_logits and self.cache else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy with y = act(z), z = cols·K + b, where cols = im2col(pad(x)) holds one
        patch per row and K is the kernel reshaped to (kh·kw·C_in, filters):

            dz = dy ⊙ act'(z)     (as rows: one per output pixel)
            dK = colsᵀ·dz         (reshaped back to (kh, kw, C_in, filters))
            db = Σ_rows dz        (over the batch and every output pixel)
            dx = for every kernel offset (ky, kx), the input cells that offset read
                 receive dz·K[ky, kx]ᵀ; then the padding is cropped
                 (``im2col.conv_input_grad``: col2im(dz·Kᵀ), summed offset by offset)
        """
        dz = self._activation_backward(self.cache.z, self.cache.y, grad_output)
        return self._backward_rows(self._to_rows(dz))

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """Given dz = dL/dz straight from the loss (softmax/sigmoid cross-entropy), the
        rest of ``backward``: dK = colsᵀ·dz, db = Σ_rows dz, dx = conv_input_grad(dz, K).
        """
        return self._backward_rows(self._to_rows(grad_logits))

    def _backward_rows(self, dz: Any) -> Any:
        """dK, db and dx from dz as rows (N*oh*ow, F): the equations of ``backward``."""
        cache = self.cache
        if self.trainable:
            self.kernel.add_grad((cache.cols.T @ dz).reshape(self.kernel.shape))
            if self.use_bias:
                self.bias.add_grad(dz.sum(axis=0))
        if not self.input_grad_needed:  # first layer of a model in training: x is data
            return None
        dx = ic.conv_input_grad(dz, self.kernel.value, cache.padded_shape, cache.pads,
                                cache.out_hw, self.strides, self.dilation_rate)
        return dx.transpose(0, 3, 1, 2) if self.data_format == "channels_first" else dx

    def forward_bytes_per_sample(self) -> int:
        """Bytes a forward pass holds per input sample besides its output: the im2col rows
        (oh*ow rows of kh*kw*C numbers). ``predict`` slices its batches so that no layer's
        exceeds a bound (``Trainer._inference_slice``; any layer may define this). 0 unbuilt."""
        if not self.built or self._input_shape is None:
            return 0
        ah, aw, _ = spatial_axes(self.data_format)
        out = self.compute_output_shape(self._input_shape)
        if out[ah] is None or out[aw] is None:
            return 0
        row = self.kernel.shape[0] * self.kernel.shape[1] * self.kernel.shape[2]
        return int(out[ah] * out[aw] * row * backend.xp.dtype(self.kernel.value.dtype).itemsize)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, **kernel_and_bias_config(self)}




def kernel_and_bias_config(layer: Any) -> dict[str, Any]:
    """The config entries a convolution shares with Dense after its geometry: activation,
    use_bias and the two initializers (Conv2D, Conv1D, Conv2DTranspose)."""
    serialize_init = initializers.serialize
    return {"activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
            "kernel_initializer": serialize_init(initializers.get(layer.kernel_initializer)),
            "bias_initializer": serialize_init(initializers.get(layer.bias_initializer))}


#: Keras' regularizer and constraint entries, which minikeras' convolutions do not have
NO_REGULARIZERS: dict[str, None] = {
    "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
    "kernel_constraint": None, "bias_constraint": None}


class ZeroPadding2D(Layer):
    """Add rows/columns of zeros around each image; backward crops the gradient back.

    ``padding``: an int (all four sides), ``(rows, cols)`` (symmetric) or
    ``((top, bottom), (left, right))``.
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(padding, int):
            pads = ((padding, padding), (padding, padding))
        elif len(padding) == 2 and all(isinstance(p, int) for p in padding):
            pads = ((padding[0], padding[0]), (padding[1], padding[1]))
        else:
            pads = tuple(tuple(int(v) for v in p) for p in padding)
        if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
            raise ValueError("`padding` should be an int, a tuple of 2 ints or a tuple of 2 "
                             f"tuples of 2 non-negative ints. Received: padding={padding!r}.")
        self.padding = pads
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        for axis, (a, b) in zip(spatial_axes(self.data_format)[:2], self.padding, strict=True):
            out[axis] = None if out[axis] is None else out[axis] + a + b
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        cf = self.data_format == "channels_first"
        self.cache = tuple(inputs.shape)
        out = ic.to_padded_nhwc(inputs, self.padding, cf)
        return out.transpose(0, 3, 1, 2) if cf else out

    def backward(self, grad_output: Any) -> Any:
        """y = x with zeros around it; the zeros do not depend on x, so dx is dy with the
        border cropped: dx = dy[top : H_out - bottom, left : W_out - right].
        """
        (top, bottom), (left, right) = self.padding
        ah, aw, _ = spatial_axes(self.data_format)
        index = [slice(None)] * 4
        index[ah] = slice(top, grad_output.shape[ah] - bottom)
        index[aw] = slice(left, grad_output.shape[aw] - right)
        return grad_output[tuple(index)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling: each pixel becomes a ``size[0] x size[1]`` block.

    Backward: every output pixel of a block came from one input pixel, so dL/dx is the sum
    of dy over each block (a reshape that exposes the blocks, then a sum).
    """

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not "
                                      "supported by minikeras (only 'nearest').")
        self.size = standardize_tuple(size, 2, "size")
        self.data_format = backend.standardize_data_format(data_format)
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = list(input_shape)
        for axis, s in zip(spatial_axes(self.data_format)[:2], self.size, strict=True):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        ah, aw, _ = spatial_axes(self.data_format)
        xp = backend.xp
        return xp.repeat(xp.repeat(inputs, self.size[0], axis=ah), self.size[1], axis=aw)

    def backward(self, grad_output: Any) -> Any:
        """y[i, j] = x[i // sh, j // sw]: each input pixel feeds an sh x sw block of
        outputs, so dx[i, j] = Σ_{a<sh, b<sw} dy[i·sh + a, j·sw + b].
        """
        (sh, sw), g = self.size, grad_output
        if self.data_format == "channels_first":
            n, c, h, w = g.shape
            return g.reshape(n, c, h // sh, sh, w // sw, sw).sum(axis=(3, 5))
        n, h, w, c = g.shape
        return g.reshape(n, h // sh, sh, w // sw, sw, c).sum(axis=(2, 4))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}

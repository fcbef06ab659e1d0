"""Conv2DTranspose: the adjoint ("transpose") of a Conv2D, so im2col and col2im swap roles.

A Conv2D maps a large image to a small one with z = im2col(x) @ W, and its backward maps a
small gradient back to the large image's shape with col2im(dz @ Wᵀ). Conv2DTranspose runs that
backward map *forwards*: each input pixel's C_in values are multiplied by the kernel into a
kh x kw x filters patch, and the patches are added into the (larger) output, placed ``strides``
apart (overlapping where the kernel is larger than the stride):

    input pixel (y, x)  ->  patch added at output rows y*sh + ky*dh, cols x*sw + kx*dw

So the forward pass is one matrix product and one ``col2im``; its backward pass is one
``im2col`` and two products: a Conv2D's forward pass, with the kernel read the other way.

The kernel is stored as Keras stores it: (kh, kw, filters, C_in), i.e. the kernel of the
Conv2D whose adjoint this is (that Conv2D maps ``filters`` channels to C_in). Reshaped to
(kh*kw*filters, C_in) it is exactly the matrix the patches need.

Output size (Keras' rules, per spatial axis, n input cells, k_eff = (k-1)*dilation + 1):

    'valid': (n - 1)*s + max(k_eff, s)     or (n - 1)*s + k_eff + output_padding
    'same' :  n*s                          or (n - 1)*s + k_eff % 2 + output_padding

For 'same', the patches land in a padded output and the padding is cropped: the padding of
TensorFlow's 'same' Conv2D on that output size (the extra cell after), since this layer is
that Conv2D's adjoint.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from minikeras import activations, backend
from minikeras.layers import im2col as ic
from minikeras.layers.convolutional import (
    NO_REGULARIZERS,
    _check_data,
    kernel_and_bias_config,
    spatial_axes,
    standardize_padding,
    standardize_tuple,
)
from minikeras.layers.core import _ActivationMixin
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported


def transpose_output_length(n: int | None, k: int, s: int, d: int, padding: str,
                            output_padding: int | None) -> int | None:
    """Keras' output size of a transposed convolution along one axis (TF backend)."""
    if n is None:
        return None
    k_eff = ic.effective_kernel(k, d)
    if padding == "valid":
        extra = max(k_eff, s) - k_eff if output_padding is None else output_padding
        return (n - 1) * s + k_eff + extra
    if output_padding is None:
        return n * s
    return (n - 1) * s + k_eff % 2 + output_padding


def transpose_padding(n: int, out: int, k: int, s: int, d: int,
                      padding: str) -> tuple[int, int]:
    """(before, after) cells cropped from the output: the padding of the Conv2D that maps an
    ``out``-long axis back to ``n`` cells (TensorFlow's 'same' split, extra cell after)."""
    if padding == "valid":
        return 0, 0
    total = max((n - 1) * s + ic.effective_kernel(k, d) - out, 0)
    return total // 2, total - total // 2


class Conv2DTranspose(_ActivationMixin, Layer):
    """``y = activation(conv_transpose(x, kernel) + bias)``, the adjoint of a Conv2D.

    Forward, with rows = x as (N*H*W, C_in) (one row per input pixel) and
    W = kernel.reshape(kh*kw*filters, C_in):

        patches = rows @ Wᵀ                 (N*H*W, kh*kw*filters): one patch per pixel
        z       = col2im(patches) + bias    (the patches added into the padded output,
                                            strides apart; the padding cropped)
        y       = activation(z)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, Integral) or filters <= 0:
            raise ValueError("Conv2DTranspose: invalid value for argument `filters`. Expected "
                             f"a strictly positive integer. Received filters={filters!r}.")
        reject_unsupported("Conv2DTranspose", kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = standardize_tuple(strides, 2, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = standardize_padding(padding)
        if output_padding is None:
            self.output_padding = None
        else:
            pad = (output_padding,) * 2 if isinstance(output_padding, Integral) else tuple(
                output_padding)
            if len(pad) != 2 or not all(isinstance(p, Integral) and p >= 0 for p in pad):
                raise ValueError("Conv2DTranspose: `output_padding` must be None, an int or a "
                                 "tuple of 2 non-negative ints. Received: output_padding="
                                 f"{output_padding!r}")
            self.output_padding = tuple(int(p) for p in pad)
            for op, s in zip(self.output_padding, self.strides, strict=True):
                if op >= s:
                    raise ValueError("Conv2DTranspose: each value of `output_padding` must "
                                     "be strictly less than the stride on its axis. Received: "
                                     f"output_padding={self.output_padding}, strides="
                                     f"{self.strides}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Conv2DTranspose: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1` (as in Keras). Received: strides="
                             f"{self.strides} and dilation_rate={self.dilation_rate}")
        self.data_format = backend.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(ndim=4)

    # ------------------------------------------------------------------ shapes and weights
    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4 or input_shape[spatial_axes(self.data_format)[2]] is None:
            raise ValueError(f"Conv2DTranspose layer '{self.name}': expected 4-D input with a "
                             f"known channel axis ({self.data_format}); got input shape "
                             f"{tuple(input_shape)}.")
        channels = input_shape[spatial_axes(self.data_format)[2]]
        self.compute_output_shape(input_shape)   # validates sizes before creating weights
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, channels),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={spatial_axes(self.data_format)[2]: channels})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 4:
            raise ValueError(f"Conv2DTranspose layer '{self.name}' expects 4-D input (batch, "
                             f"rows, cols, channels); received shape {tuple(input_shape)}.")
        ah, aw, ac = spatial_axes(self.data_format)
        out_pad = self.output_padding or (None, None)
        out = list(input_shape)
        for axis, k, s, d, op in zip((ah, aw), self.kernel_size, self.strides,
                                     self.dilation_rate, out_pad, strict=True):
            out[axis] = transpose_output_length(input_shape[axis], k, s, d, self.padding, op)
        out[ac] = self.filters
        return tuple(out)

    def _geometry(self, shape: tuple[int, ...]) -> tuple[tuple[int, int], ic.Pads, tuple]:
        """The input (H, W), the cropped padding and the padded output shape (NHWC)."""
        ah, aw, _ = spatial_axes(self.data_format)
        out_shape = self.compute_output_shape(shape)
        hw = (shape[ah], shape[aw])
        out_hw = (out_shape[ah], out_shape[aw])
        pads = tuple(transpose_padding(n, o, k, s, d, self.padding) for n, o, k, s, d in
                     zip(hw, out_hw, self.kernel_size, self.strides, self.dilation_rate,
                         strict=True))
        padded = (shape[0], out_hw[0] + sum(pads[0]), out_hw[1] + sum(pads[1]), self.filters)
        for n, k, s, d, size in zip(hw, self.kernel_size, self.strides, self.dilation_rate,
                                    padded[1:3], strict=True):
            if (n - 1) * s + ic.effective_kernel(k, d) > size:
                raise ValueError(
                    f"Conv2DTranspose layer '{self.name}': output_padding="
                    f"{self.output_padding} gives an output too small for the patches of an "
                    f"input of shape {shape} (kernel {self.kernel_size}, strides "
                    f"{self.strides}, padding='{self.padding}'); use another output_padding.")
        return hw, pads, padded

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: Any, training: bool = False) -> Any:
        _check_data(self, inputs)
        self.check_input_shape(tuple(inputs.shape))
        hw, pads, padded_shape = self._geometry(tuple(inputs.shape))
        x = inputs.transpose(0, 2, 3, 1) if self.data_format == "channels_first" else inputs
        rows = x.reshape(-1, x.shape[-1])
        weight = self.kernel.value.reshape(-1, self.kernel.shape[-1])   # (kh*kw*F, C_in)
        patches = rows @ weight.T
        z = ic.col2im(patches, padded_shape, pads, self.kernel_size, hw, self.strides,
                      self.dilation_rate)
        if self.use_bias:
            z += self.bias.value   # z is a fresh array: add in place
        if self.data_format == "channels_first":
            z = z.transpose(0, 3, 1, 2)
        y = self._activate(z)
        self.cache = (rows, hw, pads, z, y)
        return y

    def output_logits(self) -> Any:
        return self.cache[3] if self.activation.has_logits and self.cache else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy with y = act(z), z = col2im(rows·Wᵀ) + b (rows: the input pixels as
        (N·H·W, C_in); W: the kernel as (kh·kw·filters, C_in)). col2im is linear with adjoint
        im2col, so:

            dz       = dy ⊙ act'(z)
            db       = Σ dz                     (over the batch and every output pixel)
            dpatches = im2col(pad(dz))          (N·H·W, kh·kw·filters): the window of dz that
                                                each input pixel's patch was added into
            dW       = dpatchesᵀ·rows           (reshaped to (kh, kw, filters, C_in))
            dx       = dpatches·W               (N·H·W, C_in), reshaped to x's shape
        """
        z, y = self.cache[3], self.cache[4]
        return self.backward_from_logits(self._activation_backward(z, y, grad_output))

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """Given dz = dL/dz straight from the loss (or from ``backward``), the rest of the
        backward pass: db = Σ dz, dpatches = im2col(pad(dz)), dW = dpatchesᵀ·rows,
        dx = dpatches·W."""
        rows, hw, pads, z, y = self.cache
        dz = grad_logits
        channels_first = self.data_format == "channels_first"
        dz_pad = ic.to_padded_nhwc(dz, pads, channels_first)
        dpatches = ic.im2col(dz_pad, self.kernel_size, hw, self.strides, self.dilation_rate)
        weight = self.kernel.value.reshape(-1, self.kernel.shape[-1])
        if self.trainable:
            self.kernel.add_grad((dpatches.T @ rows).reshape(self.kernel.shape))
            if self.use_bias:
                self.bias.add_grad(dz.sum(axis=(0, 2, 3) if channels_first else (0, 1, 2)))
        if not self.input_grad_needed:   # first layer of a model in training: x is data
            return None
        dx_rows = dpatches @ weight
        dx = dx_rows.reshape(dz.shape[0], hw[0], hw[1], -1)
        return dx.transpose(0, 3, 1, 2) if channels_first else dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                **kernel_and_bias_config(self), **NO_REGULARIZERS}


Convolution2DTranspose = Conv2DTranspose   # Keras 3 keeps this alias too

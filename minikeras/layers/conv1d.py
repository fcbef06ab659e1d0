"""Conv1D: a 1-D convolution over sequences, as a 2-D convolution over images one row high.

A sequence (N, L, C) is an image (N, 1, L, C), and a 1-D kernel of k taps is a 1 x k 2-D
kernel, so ``im2col.py``'s machinery does the work unchanged (read its picture with a single
row): ``im2col`` turns every window into one row of ``cols``, the convolution is one matrix
product, and ``col2im`` adds the patch gradients back. The kernel is stored as Keras stores it,
(k, C_in, filters): in memory exactly the (k*C_in, filters) matrix the product needs.

Padding: 'valid' (none), 'same' (TensorFlow's split: the extra cell goes after), and 'causal'
((k-1)*dilation zeros *before* the sequence only, so output t sees inputs up to t, never
later ones: what a model that predicts the next step needs).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from minikeras import activations, backend
from minikeras.layers import im2col as ic
from minikeras.layers.convolutional import (
    NO_REGULARIZERS,
    kernel_and_bias_config,
    standardize_tuple,
)
from minikeras.layers.core import _ActivationMixin
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported


def sequence_padding(length: int, kernel: int, stride: int, dilation: int,
                     padding: str) -> tuple[int, int]:
    """(before, after) zeros for one sequence axis of ``length`` cells."""
    if padding == "causal":
        return ic.effective_kernel(kernel, dilation) - 1, 0
    if padding == "same":
        return ic.same_padding(length, kernel, stride, dilation)
    return 0, 0


def sequence_output_length(length: int | None, kernel: int, stride: int, dilation: int,
                           padding: str) -> int | None:
    """'valid': floor((L - k_eff)/s) + 1; 'same' and 'causal': ceil(L/s)."""
    return ic.output_length(length, kernel, stride, dilation,
                            "same" if padding == "causal" else padding)


class Conv1D(_ActivationMixin, Layer):
    """``y = activation(conv1d(x, kernel) + bias)`` on (batch, steps, channels) input
    ((batch, channels, steps) for channels_first).

    Forward, with xpad the padded input seen as (N, 1, L_pad, C), cols = im2col(xpad) of
    shape (N*L_out, k*C) and W = kernel.reshape(k*C, filters):

        z = cols @ W + bias            (N*L_out, filters), i.e. (N, L_out, filters)
        y = activation(z)              on the output layout (softmax: its last axis)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, Integral) or filters <= 0:
            raise ValueError("Conv1D: invalid value for argument `filters`. Expected a "
                             f"strictly positive integer. Received filters={filters!r}.")
        reject_unsupported("Conv1D", kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if groups != 1:
            raise NotImplementedError("Conv1D: `groups` other than 1 is not supported by "
                                      f"minikeras. Received: groups={groups!r}")
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, 1, "kernel_size")
        self.strides = standardize_tuple(strides, 1, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, 1, "dilation_rate")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError("Conv1D: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1` (as in Keras). Received: strides="
                             f"{self.strides} and dilation_rate={self.dilation_rate}")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same", "causal"):
            raise ValueError("Conv1D: the `padding` argument must be one of 'valid', 'same', "
                             f"'causal'. Received: padding={padding!r}")
        self.data_format = backend.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(ndim=3)

    # ------------------------------------------------------------------ shapes and weights
    def _axes(self) -> tuple[int, int]:
        """(steps axis, channel axis) of a 3-D input."""
        return (2, 1) if self.data_format == "channels_first" else (1, 2)

    def build(self, input_shape: Shape) -> None:
        channels = input_shape[self._axes()[1]] if len(input_shape) == 3 else None
        if channels is None:
            raise ValueError(f"Conv1D layer '{self.name}': expected 3-D input with a known "
                             f"channel axis ({self.data_format}); got input shape "
                             f"{tuple(input_shape)}.")
        self.compute_output_shape(input_shape)   # validates sizes before creating weights
        self.kernel = self.add_weight("kernel", (self.kernel_size[0], channels, self.filters),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=3, axes={self._axes()[1]: channels})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(f"Conv1D layer '{self.name}' expects 3-D input (batch, steps, "
                             f"channels); received shape {tuple(input_shape)}.")
        steps_axis, channel_axis = self._axes()
        steps = sequence_output_length(input_shape[steps_axis], self.kernel_size[0],
                                       self.strides[0], self.dilation_rate[0], self.padding)
        if steps is not None and steps <= 0:
            raise ValueError(
                f"Conv1D layer '{self.name}': computed output size would be zero or negative: "
                f"input shape {tuple(input_shape)}, kernel_size {self.kernel_size}, dilation "
                f"{self.dilation_rate}, padding='{self.padding}'. The kernel is longer than "
                "the sequence: use padding='same' or 'causal', or a smaller kernel.")
        out = list(input_shape)
        out[steps_axis], out[channel_axis] = steps, self.filters
        return tuple(out)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        self.check_input_shape(tuple(x.shape))
        steps_axis, _ = self._axes()
        length = x.shape[steps_axis]
        out_len = self.compute_output_shape(tuple(x.shape))[steps_axis]
        k, s, d = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        pads = ((0, 0), sequence_padding(length, k, s, d, self.padding))
        image = x[:, :, None, :] if self.data_format == "channels_first" else x[:, None]
        xpad = ic.to_padded_nhwc(image, pads, self.data_format == "channels_first")
        self.cache = None   # the last step's patch matrix goes before this one is made
        cols = ic.im2col(xpad, (1, k), (1, out_len), (1, s), (1, d))
        z = cols @ self.kernel.value.reshape(-1, self.filters)
        if self.use_bias:
            z += self.bias.value   # z is a fresh product: add in place
        z = self._to_output(z, x.shape[0], out_len)
        y = self._activate(z)
        self.cache = (cols, tuple(xpad.shape), pads, out_len, z, y)
        return y

    def _to_output(self, rows: Any, n: int, out_len: int) -> Any:
        """(N*L_out, F) rows -> (N, L_out, F), or an (N, F, L_out) view for channels_first."""
        out = rows.reshape(n, out_len, self.filters)
        return out.transpose(0, 2, 1) if self.data_format == "channels_first" else out

    def _to_rows(self, grad: Any) -> Any:
        """The inverse of ``_to_output``."""
        if self.data_format == "channels_first":
            grad = grad.transpose(0, 2, 1)
        return grad.reshape(-1, self.filters)

    def output_logits(self) -> Any:
        return self.cache[4] if self.activation.has_logits and self.cache else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy with y = act(z), z = cols·W + b, cols = im2col(pad(x)) (one window per
        row) and W the kernel reshaped to (k·C_in, filters):

            dz = dy ⊙ act'(z)     (as rows: one per output step)
            dW = colsᵀ·dz         (reshaped back to (k, C_in, filters))
            db = Σ_rows dz        (over the batch and every output step)
            dx = for every kernel offset k, the input steps that offset read receive
                 dz·W[k]ᵀ; then the padding, causal or same, is cropped
                 (``im2col.conv_input_grad``: col2im(dz·Wᵀ), summed offset by offset)
        """
        cols, padded_shape, pads, out_len, z, y = self.cache
        dz = self._activation_backward(z, y, grad_output)
        return self._backward_rows(self._to_rows(dz))

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """Given dz = dL/dz straight from the loss (softmax/sigmoid cross-entropy), the rest
        of ``backward``: dW = colsᵀ·dz, db = Σ_rows dz, dx = conv_input_grad(dz, W)."""
        return self._backward_rows(self._to_rows(grad_logits))

    def _backward_rows(self, dz: Any) -> Any:
        cols, padded_shape, pads, out_len, z, y = self.cache
        if self.trainable:
            self.kernel.add_grad((cols.T @ dz).reshape(self.kernel.shape))
            if self.use_bias:
                self.bias.add_grad(dz.sum(axis=0))
        if not self.input_grad_needed:   # first layer of a model in training: x is data
            return None
        kernel_2d = self.kernel.value[None]     # (k, C, F) -> (1, k, C, F): a 1 x k image kernel
        dx_image = ic.conv_input_grad(dz, kernel_2d, padded_shape, pads, (1, out_len),
                                      (1, self.strides[0]), (1, self.dilation_rate[0]))
        dx = dx_image[:, 0]     # (N, 1, L, C) -> (N, L, C)
        return dx.transpose(0, 2, 1) if self.data_format == "channels_first" else dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": 1,
                **kernel_and_bias_config(self), **NO_REGULARIZERS}


Convolution1D = Conv1D   # Keras 3 keeps this alias too

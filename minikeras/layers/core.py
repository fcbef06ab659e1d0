"""Core layers: InputLayer, Dense, Activation, Flatten, Reshape, Dropout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras import activations, backend
from minikeras.layers.layer import InputSpec, Layer, Shape, _NoInputWarning, reject_unsupported
from minikeras.utils import validation


class InputLayer(_NoInputWarning, Layer):
    """The entry point of a model: holds the batch shape, passes data through unchanged."""

    def __init__(self, shape: Shape | None = None, batch_size: int | None = None,
                 dtype: str | None = None, batch_shape: Shape | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("sparse", None)
        kwargs.pop("ragged", None)
        validation.check_input_args(shape, batch_size, dtype, batch_shape)
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument to InputLayer (or `batch_shape`).")
        if batch_shape is None:
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype,
                         batch_input_shape=tuple(batch_shape), **kwargs)
        self.batch_shape = tuple(batch_shape)
        self.built = True
        self._input_shape = self._output_shape = self.batch_shape

    def forward(self, inputs: Any, training: bool = False) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        """Identity: y = x, so dx = dy."""
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


class _ActivationMixin:
    """For layers that end in ``activation(z)``: cache z and y, expose z as logits."""

    activation: activations.Activation
    cache: Any

    def _activate(self, z: Any) -> Any:
        y = self.activation.forward(z)
        return y

    def _activation_backward(self, z: Any, y: Any, dy: Any) -> Any:
        return dy if self.activation.name == "linear" else self.activation.backward(z, y, dy)


class Dense(_ActivationMixin, Layer):
    """``y = activation(x @ kernel + bias)`` on the last axis of x.

    Backward, with dz = dL/dz = activation'(z) * dy (or the loss' own dL/dz for softmax):

        dL/dkernel = x^T @ dz        (summed over every leading axis: batch, time...)
        dL/dbias   = sum(dz)         (over every leading axis)
        dL/dx      = dz @ kernel^T
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int | np.integer) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        reject_unsupported("Dense", kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: Shape) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense layer '{self.name}': the last axis of its input must be "
                             f"known, got input shape {input_shape}.")
        self.kernel = self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape)[:-1], self.units)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        z = backend.matmul(inputs, self.kernel.value)   # x·W
        if self.use_bias:
            z += self.bias.value  # z is a fresh product: add in place, no temporary
        y = self._activate(z)
        self.cache = (inputs, z, y)
        return y

    def output_logits(self) -> Any:
        return self.cache[1] if self.activation.has_logits and self.cache else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy with y = act(z), z = x·W + b (W is ``kernel``, b is ``bias``):

            dz = dy ⊙ act'(z)     (the activation's vector-Jacobian product; linear: dz = dy)

        then ``backward_from_logits(dz)`` gives dW, db and dx.
        """
        _, z, y = self.cache
        dy = grad_output
        dz = self._activation_backward(z, y, dy)   # dy ⊙ act'(z)
        return self.backward_from_logits(dz)

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """Given dz = dL/dz for z = x·W + b (from ``backward``, or straight from the loss as
        p - y when the activation is softmax/sigmoid and the loss is cross-entropy):

            dW = xᵀ·dz       (x and dz as rows: summed over the batch and any time axis)
            db = Σ_batch dz
            dx = dz·Wᵀ       (None when the input needs no gradient)
        """
        x = self.cache[0]
        dz = grad_logits
        x_rows, dz_rows = x.reshape(-1, x.shape[-1]), dz.reshape(-1, self.units)  # (N·T, ·)
        if self.trainable:
            dW = x_rows.T @ dz_rows
            self.kernel.add_grad(dW)
            if self.use_bias:
                db = dz_rows.sum(axis=0)
                self.bias.add_grad(db)
        if not self.input_grad_needed:
            return None
        dx = backend.matmul_transposed(dz, self.kernel.value)   # dz·Wᵀ
        return dx

    def get_config(self) -> dict[str, Any]:
        from minikeras import initializers

        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(
                    initializers.get(self.kernel_initializer)),
                "bias_initializer": initializers.serialize(
                    initializers.get(self.bias_initializer))}


class Activation(_ActivationMixin, Layer):
    """``y = activation(x)``; backward is the activation's vector-Jacobian product."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        y = self._activate(inputs)
        self.cache = (inputs, y)
        return y

    def output_logits(self) -> Any:
        return self.cache[0] if self.activation.has_logits and self.cache else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy with y = act(x): dx = dy ⊙ act'(x) (the activation's vector-Jacobian
        product; for softmax dx = y ⊙ (dy - Σ_j dy_j y_j)).
        """
        x, y = self.cache
        return self._activation_backward(x, y, grad_output)

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """The logits of y = act(x) are x itself, so the loss' dz = dL/dx already: dx = dz."""
        return grad_logits

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C order: after a channels_first convolution this
    is (C, H, W) order, as in Keras. ``data_format="channels_first"`` first moves channels
    last, giving (H, W, C) order. Backward reshapes the gradient back."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(math.prod(rest))
        return (input_shape[0], size)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = backend.xp.moveaxis(x, 1, -1)
        self.cache = inputs.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: Any) -> Any:
        """y = reshape(x, (N, -1)) only re-indexes, so dx = reshape(dy, x.shape)
        (for channels_first, the channel axis moved last in forward is moved back).
        """
        shape = self.cache
        if self.data_format == "channels_first" and len(shape) > 2:
            moved = (shape[0], *shape[2:], shape[1])
            return backend.xp.moveaxis(grad_output.reshape(moved), -1, 1)
        return grad_output.reshape(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (one entry may be -1); backward undoes it."""

    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        validation.check_target_shape(target_shape, f"Reshape {kwargs.get('name', '')}".strip())
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        if -1 not in self.target_shape:
            if None not in rest and math.prod(rest) != math.prod(self.target_shape):
                raise ValueError(
                    f"Reshape '{self.name}': total size of the input {tuple(rest)} does not "
                    f"match target_shape {self.target_shape}."
                )
            return (input_shape[0], *self.target_shape)
        known = -math.prod(self.target_shape)
        if None in rest:
            return (input_shape[0], *(None if d == -1 else d for d in self.target_shape))
        total = math.prod(rest)
        if total % known:
            raise ValueError(f"Reshape '{self.name}': cannot reshape {tuple(rest)} to "
                             f"{self.target_shape}.")
        return (input_shape[0], *(total // known if d == -1 else d for d in self.target_shape))

    def forward(self, inputs: Any, training: bool = False) -> Any:
        self.cache = inputs.shape
        target = self.compute_output_shape(tuple(inputs.shape))
        return inputs.reshape((inputs.shape[0], *target[1:]))

    def backward(self, grad_output: Any) -> Any:
        """y = reshape(x, target_shape) only re-indexes, so dx = reshape(dy, x.shape)."""
        return grad_output.reshape(self.cache)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Training: keep each unit with probability 1-rate and scale kept ones by 1/(1-rate)
    ("inverted dropout", so inference needs no rescaling). Inference: identity.
    Backward multiplies by the same mask and scale."""

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def forward(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            self.cache = None
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(shape, self.noise_shape,
                                                                  strict=True))
        keep = backend.random_uniform(shape, inputs.dtype, self._rng) >= self.rate
        scale = keep.astype(inputs.dtype) / (1 - self.rate)
        self.cache = scale
        return inputs * scale

    def backward(self, grad_output: Any) -> Any:
        """Training: y = x ⊙ m with m = keep / (1 - rate), so dx = dy ⊙ m (the same mask).
        Inference (or rate 0): y = x, so dx = dy.
        """
        return grad_output if self.cache is None else grad_output * self.cache

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}

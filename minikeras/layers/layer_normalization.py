"""LayerNormalization: normalise each *sample* over its feature axes (no batch statistics, no
moving averages: training and inference compute the same thing).

With ``axis`` the normalised axes (default the last), per sample, over the m entries of
those axes:

    mean    = (1/m) Σ x
    var     = (1/m) Σ (x - mean)²
    inv_std = 1 / sqrt(var + epsilon)          (Keras' default epsilon: 1e-3)
    x_hat   = (x - mean) · inv_std
    y       = gamma · x_hat + beta             (gamma, beta: one entry per normalised position)
"""

from __future__ import annotations

from typing import Any

from minikeras import backend, initializers
from minikeras.layers import argument_checks as check
from minikeras.layers.layer import Layer, Shape, reject_unsupported


class LayerNormalization(Layer):
    """Per-sample normalisation over ``axis`` (an int or a list of ints), then gamma and beta
    (see the module docstring). Weights, in Keras' order: gamma (if ``scale``), beta (if
    ``center``), each of shape ``input_shape[axis]``."""

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, rms_scaling: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = "LayerNormalization"
        if isinstance(axis, list | tuple):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool)
                                   for a in axis):
                raise TypeError(f"{name}: `axis` must be an int or a non-empty list of ints. "
                                f"Received: axis={axis!r}")
            self.axis: Any = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(f"{name}: expected an int or a list/tuple of ints for the argument "
                            f"'axis', but received: {axis!r} (of type {type(axis).__name__}).")
        reject_unsupported(name, beta_regularizer=beta_regularizer,
                           gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                           gamma_constraint=gamma_constraint)
        if check.boolean(name, "rms_scaling", rms_scaling):
            raise NotImplementedError(
                f"{name}: `rms_scaling=True` is deprecated in Keras 3 (it scales by the "
                "variance, not the root mean square) and not supported by minikeras.")
        self.epsilon = check.real(name, "epsilon", epsilon)
        self.center = check.boolean(name, "center", center)
        self.scale = check.boolean(name, "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.gamma = self.beta = None
        self._axes: tuple[int, ...] = ()

    def _normalized_axes(self, shape: Shape) -> tuple[int, ...]:
        """The normalised axes as sorted non-negative indices (checked against ``shape``)."""
        wanted = self.axis if isinstance(self.axis, list) else [self.axis]
        where = f"LayerNormalization layer '{self.name}'"
        return tuple(sorted({check.axis_index(where, a, len(shape), shape) for a in wanted}))

    def build(self, input_shape: Shape) -> None:
        self._axes = self._normalized_axes(input_shape)
        shape = tuple(input_shape[a] for a in self._axes)
        if any(s is None for s in shape):
            raise ValueError(f"LayerNormalization layer '{self.name}': the normalised axes "
                             f"{self.axis} of its input must be known; got input shape "
                             f"{tuple(input_shape)}.")
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._normalized_axes(input_shape)
        return tuple(input_shape)

    def _other_axes(self, ndim: int) -> tuple[int, ...]:
        """The axes gamma and beta are shared across (batch, and any others not normalised)."""
        return tuple(a for a in range(ndim) if a not in self._axes)

    def _broadcast(self, weight: Any, ndim: int) -> Any:
        """gamma or beta shaped to broadcast against x (size 1 on the other axes)."""
        shape = [1] * ndim
        for a, size in zip(self._axes, weight.shape, strict=True):
            shape[a] = size
        return weight.reshape(shape)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        if x.ndim <= max(self._axes):
            raise ValueError(f"LayerNormalization layer '{self.name}' was built for axes "
                             f"{self._axes} but received input of shape {tuple(x.shape)}.")
        mean = x.mean(axis=self._axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=self._axes, keepdims=True)
        inv_std = 1.0 / backend.xp.sqrt(var + self.epsilon)
        x_hat = (x - mean) * inv_std
        y = x_hat
        if self.scale:
            y = y * self._broadcast(self.gamma.value, x.ndim)
        if self.center:
            y = y + self._broadcast(self.beta.value, x.ndim)
        self.cache = (x_hat, inv_std)
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy for y = gamma·x_hat + beta, x_hat = (x - mean)·inv_std, where mean and
        var are each sample's own (over the normalised axes, m entries): gamma and beta are
        shared by the samples, so their gradients sum over the other axes (Σ_batch):

            dbeta  = Σ_batch dy
            dgamma = Σ_batch dy · x_hat
            dx_hat = dy · gamma

        and, as for BatchNormalization in training (see its backward for the derivation;
        here the means run over each sample's normalised axes):

            dx = inv_std · (dx_hat - mean(dx_hat) - x_hat · mean(dx_hat · x_hat))
        """
        x_hat, inv_std = self.cache
        dy = grad_output
        others = self._other_axes(dy.ndim)
        if self.trainable and self.center:
            self.beta.add_grad(dy.sum(axis=others))
        if self.trainable and self.scale:
            self.gamma.add_grad((dy * x_hat).sum(axis=others))
        if not self.input_grad_needed:   # first layer of a model in training: x is data
            return None
        dx_hat = dy * self._broadcast(self.gamma.value, dy.ndim) if self.scale else dy
        mean_dx_hat = dx_hat.mean(axis=self._axes, keepdims=True)
        mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=self._axes, keepdims=True)
        return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": False,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}

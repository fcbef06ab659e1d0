"""BatchNormalization: normalise each feature with batch statistics while training, with
moving averages of them at inference; its backward pass is the classic derivation.

With x of any rank and ``axis`` the feature axis (channels: -1, or 1 for channels_first), every
statistic below is per feature, over the m = (number of entries) / (number of features) values
of the other axes (batch, and the spatial or time axes):

    mean    = (1/m) Σ x                 (the batch's; or moving_mean at inference)
    var     = (1/m) Σ (x - mean)²       (biased, as Keras: divide by m, not m - 1)
    inv_std = 1 / sqrt(var + epsilon)
    x_hat   = (x - mean) · inv_std
    y       = gamma · x_hat + beta

After each training call (and only then) the moving statistics follow the batch's:

    moving_mean     <- moving_mean · momentum + mean · (1 - momentum)
    moving_variance <- moving_variance · momentum + var · (1 - momentum)

Keras 3's defaults: momentum 0.99, epsilon 1e-3, gamma ones, beta zeros, moving mean zeros,
moving variance ones. As in Keras 3, ``trainable = False`` also means *inference mode*: a
frozen BatchNormalization uses its moving statistics even in ``fit`` (and does not update them).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

from minikeras import backend, initializers
from minikeras.layers import argument_checks as check
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported


class BatchNormCache(NamedTuple):
    """What ``forward`` keeps for ``backward`` (``layer.cache``): a stable contract, so a
    learner's subclass that writes its own ``backward`` can rely on these names.

    x_hat:            (x - mean) · inv_std, the input's shape
    inv_std:          1 / sqrt(var + epsilon), shaped to broadcast against x (keepdims)
    batch_statistics: True when mean and var were the batch's own (training mode): they
                      depend on x, and the backward pass must go through them too

    The rest of what a ``backward`` needs is stable too: ``self.reduction_axes(ndim)`` (the
    axes that Σ and mean run over), ``self.per_feature(vector, ndim)`` (a (features,) vector
    shaped to broadcast against x), the Variables ``self.gamma`` / ``self.beta`` (None when
    ``scale`` / ``center`` is False; gradients go in with ``add_grad``), ``self.trainable``
    and ``self.input_grad_needed`` (see ``Layer.backward``).
    """

    x_hat: Any
    inv_std: Any
    batch_statistics: bool


class BatchNormalization(Layer):
    """Normalise to zero mean and unit variance per feature, then scale by gamma and shift by
    beta (see the module docstring for the formulas and the moving statistics).

    Weights, in Keras' order: gamma (if ``scale``), beta (if ``center``), moving_mean,
    moving_variance (the last two non-trainable).
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False,
                 renorm_clipping: Any = None, renorm_momentum: float = 0.99,
                 synchronized: bool = False, **kwargs: Any) -> None:
        name = "BatchNormalization"
        if "mode" in kwargs:   # Keras 1: 0 = feature-wise (what Keras 2 and 3 do), 1, 2 = other
            mode = kwargs.pop("mode")
            if mode != 0:
                raise NotImplementedError(
                    f"{name}: Keras 1's `mode={mode!r}` (1: sample-wise, 2: batch statistics "
                    "at inference too) is not supported; only mode=0, what Keras 2 and 3 do.")
            warnings.warn(f"{name}: `mode=0` is Keras 1 spelling; remove it (Keras 2 and 3 "
                          "always normalize feature-wise).", DeprecationWarning, stacklevel=3)
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"{name}: `axis` must be an integer (the feature axis). "
                            f"Received: axis={axis!r} (of type {type(axis).__name__}).")
        reject_unsupported(name, beta_regularizer=beta_regularizer,
                           gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                           gamma_constraint=gamma_constraint, renorm_clipping=renorm_clipping)
        if check.boolean(name, "renorm", renorm):
            raise NotImplementedError(f"{name}: `renorm=True` (batch renormalization) is not "
                                      "supported by minikeras.")
        check.boolean(name, "synchronized", synchronized)   # one device: nothing to sync
        self.axis = axis
        self.momentum = check.real(name, "momentum", momentum)
        self.epsilon = check.real(name, "epsilon", epsilon)
        if not 0.0 <= self.momentum <= 1.0:
            warnings.warn(f"{name}: momentum={self.momentum} is outside [0, 1]; the moving "
                          "statistics will not be averages.", UserWarning, stacklevel=3)
        if self.epsilon <= 0.0:
            warnings.warn(f"{name}: epsilon={self.epsilon} is not positive; a feature with "
                          "zero variance will divide by zero.", UserWarning, stacklevel=3)
        self.center = check.boolean(name, "center", center)
        self.scale = check.boolean(name, "scale", scale)
        self.renorm_momentum = check.real(name, "renorm_momentum", renorm_momentum)
        self.synchronized = synchronized
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.gamma = self.beta = None

    # ------------------------------------------------------------------ shapes and weights
    def build(self, input_shape: Shape) -> None:
        axis = check.axis_index(f"BatchNormalization layer '{self.name}'", self.axis,
                                len(input_shape), input_shape)
        features = input_shape[axis]
        if features is None:
            raise ValueError(f"BatchNormalization layer '{self.name}': the feature axis "
                             f"{self.axis} of its input must be known; got input shape "
                             f"{tuple(input_shape)}.")
        shape = (int(features),)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: int(features)})

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check.axis_index(f"BatchNormalization layer '{self.name}'", self.axis,
                         len(input_shape), input_shape)
        return tuple(input_shape)

    def reduction_axes(self, ndim: int) -> tuple[int, ...]:
        """Every axis but the feature axis: the statistics are taken over these."""
        return tuple(a for a in range(ndim) if a != self.axis % ndim)

    def per_feature(self, values: Any, ndim: int) -> Any:
        """A (features,) vector shaped to broadcast along the feature axis of x."""
        shape = [1] * ndim
        shape[self.axis % ndim] = values.shape[0]
        return values.reshape(shape)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, inputs: Any, training: bool = False) -> Any:
        """The module docstring's equations; batch statistics only when ``training`` and
        ``trainable`` (Keras 3: a frozen BatchNormalization runs in inference mode)."""
        x = inputs
        self.check_input_shape(tuple(x.shape))
        axes = self.reduction_axes(x.ndim)
        batch_statistics = bool(training) and self.trainable
        if batch_statistics:
            mean = x.mean(axis=axes, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        else:
            mean = self.per_feature(self.moving_mean.value, x.ndim)
            var = self.per_feature(self.moving_variance.value, x.ndim)
        inv_std = 1.0 / backend.xp.sqrt(var + self.epsilon)
        x_hat = (x - mean) * inv_std
        y = x_hat
        if self.scale:
            y = y * self.per_feature(self.gamma.value, x.ndim)
        if self.center:
            y = y + self.per_feature(self.beta.value, x.ndim)
        if batch_statistics:   # everything above succeeded: now the state may change
            self._update_moving_statistics(mean.reshape(-1), var.reshape(-1))
        self.cache = BatchNormCache(x_hat, inv_std, batch_statistics)
        return y

    def _update_moving_statistics(self, mean: Any, var: Any) -> None:
        """moving <- moving · momentum + batch · (1 - momentum), in Keras' order of operations."""
        m = self.momentum
        self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance.value * m + var * (1.0 - m))

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy for y = gamma·x_hat + beta, x_hat = (x - mean)·inv_std, with the
        sums Σ and means over the m entries of each feature (the reduction axes):

            dbeta  = Σ dy
            dgamma = Σ dy · x_hat
            dx_hat = dy · gamma

        Inference (moving statistics: constants), x_hat is x times a constant:

            dx = dx_hat · inv_std

        Training (batch statistics): mean and var depend on x too. Differentiating
        mean = (1/m) Σ_j x_j and var = (1/m) Σ_j (x_j - mean)² gives
        ∂mean/∂x_j = 1/m and ∂var/∂x_j = 2 (x_j - mean) / m (the term through mean vanishes:
        Σ (x - mean) = 0), so for x_hat_i = (x_i - mean)·(var + eps)^(-1/2):

            ∂x_hat_i/∂x_j = inv_std · (δ_ij - 1/m) - (x_i - mean) · inv_std³ · (x_j - mean)/m
                          = inv_std · (δ_ij - 1/m - x_hat_i · x_hat_j / m)

        and dx_j = Σ_i dx_hat_i · ∂x_hat_i/∂x_j is

            dx = inv_std · (dx_hat - mean(dx_hat) - x_hat · mean(dx_hat · x_hat))

        (the gradient with the part along the batch's mean and along x_hat taken out: shifting
        or scaling a feature's inputs does not change its x_hat). Reads ``self.cache``, a
        ``BatchNormCache``.
        """
        x_hat, inv_std, batch_statistics = self.cache
        dy = grad_output
        axes = self.reduction_axes(dy.ndim)
        if self.trainable and self.center:
            self.beta.add_grad(dy.sum(axis=axes))
        if self.trainable and self.scale:
            self.gamma.add_grad((dy * x_hat).sum(axis=axes))
        if not self.input_grad_needed:   # first layer of a model in training: x is data
            return None
        dx_hat = dy * self.per_feature(self.gamma.value, dy.ndim) if self.scale else dy
        if not batch_statistics:
            return dx_hat * inv_std
        mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
        mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
        return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None, "synchronized": self.synchronized, "renorm": False,
                "renorm_clipping": None, "renorm_momentum": self.renorm_momentum}

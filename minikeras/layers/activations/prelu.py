"""PReLU: a leaky ReLU whose negative slope is learned, per unit (or shared along axes)."""

from __future__ import annotations

from typing import Any

from minikeras import backend, initializers
from minikeras.layers.layer import InputSpec, Layer, Shape, reject_unsupported


class PReLU(Layer):
    """``y = max(x, 0) - α ⊙ max(-x, 0)`` with a trainable α (the weight ``alpha``), of the
    input's shape without the batch axis, of size 1 along each of ``shared_axes`` (so one
    slope per channel with ``shared_axes=[1, 2]`` after a channels_last Conv2D).
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        reject_unsupported("PReLU", alpha_regularizer=alpha_regularizer,
                           alpha_constraint=alpha_constraint)
        self.alpha_initializer = initializers.get(alpha_initializer)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, list | tuple):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape: Shape) -> None:
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"PReLU '{self.name}': shared_axes must name axes 1 to "
                                 f"{len(input_shape) - 1} of the input (shape {input_shape});"
                                 f" received shared_axes={self.shared_axes}.")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared axis of the input must be "
                             f"known, got input shape {input_shape}.")
        self.alpha = self.add_weight("alpha", tuple(param_shape), self.alpha_initializer)
        axes = {i: input_shape[i] for i in range(1, len(input_shape))
                if i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xp = backend.xp
        x = inputs
        alpha = self.alpha.value
        pos = xp.maximum(x, 0)                 # max(x, 0)
        neg = xp.maximum(-x, 0)                # max(-x, 0)
        y = pos - alpha * neg                  # pos - α ⊙ neg
        self.cache = (x, neg)
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy for y = max(x, 0) - α ⊙ max(-x, 0):

            dα = -Σ dy ⊙ max(-x, 0)      (summed over the batch axis and each shared axis,
                                           down to α's shape)
            dx = dy ⊙ [x > 0] + α ⊙ dy ⊙ [x < 0]
        """
        x, neg = self.cache
        dy = grad_output
        alpha = self.alpha.value
        if self.trainable:
            summed = (0, *(self.shared_axes or []))   # batch axis and shared axes
            dalpha = -(dy * neg).sum(axis=summed, keepdims=True)[0]
            self.alpha.add_grad(dalpha)
        if not self.input_grad_needed:
            return None
        dx = dy * (x > 0) + alpha * dy * (x < 0)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": None, "alpha_constraint": None,
                "shared_axes": self.shared_axes}

"""ELU: the exponential linear unit as a layer."""

from __future__ import annotations

from typing import Any

from minikeras import activations, backend
from minikeras.layers.layer import Layer


class ELU(Layer):
    """``y = x`` where x > 0, ``y = α·(exp(x) - 1)`` elsewhere (α = alpha, 1.0 by default)."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha

    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        y = activations.elu(x, self.alpha)     # x, or α·(exp(x) - 1)
        self.cache = (x, y)
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy: dx = dy where x > 0, and dy·α·exp(x) = dy·(y + α) elsewhere
        (the derivative of α·(exp(x) - 1) written with the output y, nothing recomputed)."""
        x, y = self.cache
        dx = backend.xp.where(x > 0, grad_output, grad_output * (y + self.alpha))
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}

"""LeakyReLU: a ReLU that keeps a small slope below zero."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.layer import Layer


class LeakyReLU(Layer):
    """``y = x`` where x > 0, ``y = α·x`` elsewhere (α = negative_slope, 0.3 by default in
    Keras 3; Keras 2 called it ``alpha``)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             "negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        positive = x > 0                                            # [x > 0]
        y = backend.xp.where(positive, x, self.negative_slope * x)  # x, or α·x
        self.cache = positive
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy: dx = dy where x > 0, α·dy elsewhere (the slope of each piece)."""
        positive = self.cache
        dx = backend.xp.where(positive, grad_output, self.negative_slope * grad_output)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}

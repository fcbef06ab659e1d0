"""ReLU with Keras 3's options: a ceiling (``max_value``), a slope below the threshold
(``negative_slope``) and a threshold."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.layer import Layer


class ReLU(Layer):
    """``y = pos - α·neg``, with θ = threshold, α = negative_slope, m = max_value:

        pos = x·[x > θ]                  (θ = 0: pos = max(x, 0))
        pos = min(pos, m)                (only with a max_value; pos >= 0 there, as Keras clips
                                          to [0, m])
        neg = max(θ - x, 0)              (only when α != 0)

    so y = min(x, m) above θ, 0 at or below θ when α = 0, and α·(x - θ) below θ otherwise.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. Received: "
                             f"max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xp = backend.xp
        x = inputs
        above = x > self.threshold                               # [x > θ]
        pos = x * above                                          # x·[x > θ]
        if self.max_value is not None:
            pos = xp.clip(pos, 0, self.max_value)                # min(pos, m), on [0, m]
        y = pos
        if self.negative_slope != 0.0:
            neg = xp.maximum(self.threshold - x, 0)              # max(θ - x, 0)
            y = pos - self.negative_slope * neg                  # pos - α·neg
        self.cache = (x, above)
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy, with the same θ, α, m as the forward equations:

            dpos = dy·[x > θ]·[x <= m]     (pos passes x only above θ and up to the ceiling)
            dneg = α·dy·[x < θ]            (the part -α·neg, neg = max(θ - x, 0) of slope -1)
            dx   = dpos + dneg
        """
        x, above = self.cache
        dy = grad_output
        passed = above if self.max_value is None else above & (x <= self.max_value)
        dpos = dy * passed
        if self.negative_slope == 0.0:
            return dpos
        dneg = self.negative_slope * dy * (x < self.threshold)
        dx = dpos + dneg
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}

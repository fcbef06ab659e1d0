"""Softmax as a layer, over one axis or several."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.layer import Layer


class Softmax(Layer):
    """``y = exp(x - max(x)) / Σ exp(x - max(x))``, the sums and max over ``axis`` (an int,
    or a tuple/list of axes normalised together; -1 by default).

    As the last layer before a cross-entropy loss (last axis), its input x is the loss'
    logits, as with ``Activation("softmax")``: the loss then gives dL/dx = p - y directly.
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, list | tuple) else axis

    def _axes(self) -> Any:
        return tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def forward(self, inputs: Any, training: bool = False) -> Any:
        xp = backend.xp
        x = inputs
        axes = self._axes()
        shifted = x - x.max(axis=axes, keepdims=True)        # x - max(x): exp cannot overflow
        e = xp.exp(shifted)                                   # exp(x - max(x))
        y = e / e.sum(axis=axes, keepdims=True)              # normalised over the axes
        self.cache = (x, y)
        return y

    def output_logits(self) -> Any:
        return self.cache[0] if self.cache is not None and self.output_activation() else None

    def output_activation(self) -> str | None:
        """"softmax" when normalising the last axis (a categorical cross-entropy then starts
        from the logits x), else None."""
        ndim = len(self._input_shape) if self._input_shape is not None else 0
        return "softmax" if self.axis in (-1, [-1], ndim - 1, [ndim - 1]) else None

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy, the softmax Jacobian dyᵢ/dxⱼ = yᵢ(δᵢⱼ - yⱼ) applied to dy:

            s  = Σ dy ⊙ y        (over the softmax axes)
            dx = y ⊙ (dy - s)
        """
        _, y = self.cache
        s = (grad_output * y).sum(axis=self._axes(), keepdims=True)
        dx = y * (grad_output - s)
        return dx

    def backward_from_logits(self, grad_logits: Any) -> Any:
        """The logits of y = softmax(x) are x itself, so the loss' dz = dL/dx already: dx = dz."""
        return grad_logits

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

"""Identity: ``y = x`` (a placeholder layer, e.g. where an optional block is switched off)."""

from __future__ import annotations

from typing import Any

from minikeras.layers.layer import Layer


class Identity(Layer):
    """``y = x``; backward ``dx = dy``."""

    def forward(self, inputs: Any, training: bool = False) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        """y = x, so dx = dy."""
        return grad_output

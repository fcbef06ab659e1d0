"""Lambda: refused, with the reason and what to write instead (``minikeras.no_autodiff``)."""

from __future__ import annotations

from typing import Any

from minikeras.layers.layer import Layer
from minikeras.no_autodiff import lambda_layer_error


class Lambda(Layer):
    """Keras wraps any function of ``ops`` as a layer and differentiates it automatically;
    minikeras has no autodiff, so ``Lambda(...)`` raises ``NoAutodiffError`` (a
    NotImplementedError) at construction, with a Layer-subclass recipe."""

    def __init__(self, function: Any, output_shape: Any = None, mask: Any = None,
                 arguments: Any = None, **kwargs: Any) -> None:
        raise lambda_layer_error(function)

    def backward(self, grad_output: Any) -> Any:
        """Never reached (construction fails): a Lambda has no dx = f'(x)ᵀ·dy without
        automatic differentiation."""
        raise lambda_layer_error(None)

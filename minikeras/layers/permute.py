"""Permute: reorder the non-batch axes of each sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend
from minikeras.layers.layer import InputSpec, Layer, Shape


class Permute(Layer):
    """``y = transpose(x, (0, *dims))``: ``dims`` (1-based, the batch axis stays first) says
    which input axis becomes each output axis; ``Permute((2, 1))`` swaps time and features."""

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. Received "
                             f"dims={dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def forward(self, inputs: Any, training: bool = False) -> Any:
        y = backend.xp.transpose(inputs, (0, *self.dims))
        return y

    def backward(self, grad_output: Any) -> Any:
        """A permutation only moves entries, so the gradient moves back by the inverse one:

            dx = transpose(dy, argsort((0, *dims)))
        """
        inverse = tuple(int(i) for i in np.argsort((0, *self.dims)))
        dx = backend.xp.transpose(grad_output, inverse)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}

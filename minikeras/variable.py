"""A weight: its value, its gradient, and whether the optimizer may change it."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend


class Variable:
    """One weight array of a layer.

    ``value`` lives on the current backend (NumPy or CuPy). ``grad`` is filled by the owning
    layer's ``backward`` through ``add_grad`` (added, not overwritten, so that a layer called
    twice in one graph gets the sum of both gradients) and read by the optimizer. Layers never
    change ``value`` themselves during training: the optimizer does.
    """

    def __init__(self, value: Any, name: str, trainable: bool = True) -> None:
        self.value = value
        self.name = name
        self.trainable = trainable
        self.grad: Any = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    def numpy(self) -> np.ndarray:
        return backend.to_numpy(self.value).copy()

    def assign(self, value: Any) -> None:
        """Replace the value in place, cast to this variable's dtype, on its device."""
        new = backend.to_device(value, self.value.dtype)
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(new.shape)} to variable "
                f"'{self.name}' of shape {self.shape}."
            )
        self.value[...] = new

    def add_grad(self, grad: Any) -> None:
        self.grad = grad if self.grad is None else self.grad + grad

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        return f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype}>"

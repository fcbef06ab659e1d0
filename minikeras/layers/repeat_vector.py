"""RepeatVector: (N, features) -> (N, n, features), the vector repeated n times."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.layers.layer import InputSpec, Layer, Shape


class RepeatVector(Layer):
    """``y[:, t, :] = x`` for t = 0..n-1 (the classic bridge from an encoder's last state to
    a decoder's time steps)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        y = backend.xp.repeat(x[:, None, :], self.n, axis=1)   # n copies along a new axis 1
        return y

    def backward(self, grad_output: Any) -> Any:
        """x feeds every one of the n steps, so its gradient adds theirs:

            dx = Σ_t dy[:, t, :]
        """
        dx = grad_output.sum(axis=1)
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}

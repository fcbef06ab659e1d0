"""Adamax: Adam with the infinity norm of past gradients in place of their mean square."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class Adamax(Optimizer):
    """With g the gradient, t = iterations + 1, β₁ = beta_1, β₂ = beta_2, ε = epsilon
    (Keras 3's form)::

        m = m + (g - m) * (1 - β₁)              running mean of g
        u = max(β₂ * u, |g|)                    decaying maximum of |g|
        w = w - lr * m / ((1 - β₁ᵗ) * (u + ε))

    Slots (Keras 3's lists): ``self._m[i]`` (m), ``self._u[i]`` (u).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__,
                                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._m, self._u = self.add_optimizer_variables(new, ["momentum", "norm"])
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, beta_1, beta_2, epsilon = (dtype(learning_rate), dtype(self.beta_1),
                                       dtype(self.beta_2), dtype(self.epsilon))
        one_minus_beta_1 = dtype(1 - self.beta_1)   # rounded once, as Keras does
        t = dtype(self.iterations + 1)
        g = gradient
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        m += (g - m) * one_minus_beta_1
        u[...] = xp.maximum(beta_2 * u, xp.abs(g))
        variable.value -= lr * m / ((1 - beta_1**t) * (u + epsilon))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}

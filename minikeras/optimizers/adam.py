"""Adam: momentum on the gradient, divided by the root of a running mean square."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class Adam(Optimizer):
    """With g the gradient, t = iterations + 1 the step being taken, β₁ = beta_1,
    β₂ = beta_2, ε = epsilon (Keras 3's form)::

        alpha = lr * √(1 - β₂ᵗ) / (1 - β₁ᵗ)      bias correction folded into the step size
        m = m + (g - m) * (1 - β₁)               running mean of g
        v = v + (g² - v) * (1 - β₂)              running mean of g²
        amsgrad:  v_hat = max(v_hat, v)          the largest v so far
                  w = w - m * alpha / (√v_hat + ε)
        else:     w = w - m * alpha / (√v + ε)   (ε added to √v, not bias-corrected)

    1 - β₁ and 1 - β₂ are computed in float64 and rounded once to the weight's dtype, as
    Keras does; every other operation is in the weight's dtype (float32).

    Slots (Keras 3's lists): ``self._momentums[i]`` (m), ``self._velocities[i]`` (v),
    ``self._velocity_hats[i]`` (v_hat, when amsgrad).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__,
                                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._momentums, self._velocities = self.add_optimizer_variables(
            new, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(new, "velocity_hat")
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, beta_1, beta_2, epsilon = (dtype(learning_rate), dtype(self.beta_1),
                                       dtype(self.beta_2), dtype(self.epsilon))
        one_minus_beta_1, one_minus_beta_2 = dtype(1 - self.beta_1), dtype(1 - self.beta_2)
        t = dtype(self.iterations + 1)
        g = gradient
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m += (g - m) * one_minus_beta_1
        v += (g * g - v) * one_minus_beta_2
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            v_hat[...] = xp.maximum(v_hat, v)
            variable.value -= m * alpha / (xp.sqrt(v_hat) + epsilon)
        else:
            variable.value -= m * alpha / (xp.sqrt(v) + epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}

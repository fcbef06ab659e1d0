"""Adadelta: step sizes from running means of squared gradients and of squared updates."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class Adadelta(Optimizer):
    """With g the gradient, ρ = rho, ε = epsilon, rms(x) = √(x + ε) (Keras 3's form)::

        accumulated_grad = ρ * accumulated_grad + (1 - ρ) * g²
        delta_var = -(rms(accumulated_delta_var) * g) / rms(accumulated_grad)
        accumulated_delta_var = ρ * accumulated_delta_var + (1 - ρ) * delta_var²
        w = w + lr * delta_var

    The paper (Zeiler 2012) has no learning rate (lr = 1, Keras 2's default); Keras 3's
    default is 0.001, which makes it train very slowly.

    Slots (Keras 3's lists): ``self._accumulated_grads[i]``, ``self._accumulated_delta_vars[i]``.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__, rho=rho, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            new, ["accumulated_grad", "accumulated_delta_var"])
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, rho, epsilon = dtype(learning_rate), dtype(self.rho), dtype(self.epsilon)
        one_minus_rho = dtype(1 - self.rho)            # rounded once, as Keras does
        g = gradient
        i = self._get_variable_index(variable)
        accumulated_grad = self._accumulated_grads[i]
        accumulated_delta_var = self._accumulated_delta_vars[i]
        accumulated_grad[...] = rho * accumulated_grad + one_minus_rho * (g * g)
        delta_var = -(xp.sqrt(accumulated_delta_var + epsilon) * g
                      / xp.sqrt(accumulated_grad + epsilon))
        accumulated_delta_var[...] = (rho * accumulated_delta_var
                                      + one_minus_rho * (delta_var * delta_var))
        variable.value += lr * delta_var

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}

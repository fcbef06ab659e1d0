"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class RMSprop(Optimizer):
    """With g the gradient, ρ = rho, μ = momentum, ε = epsilon::

        v = ρ * v + (1 - ρ) * g²                 running mean square
        centered:  a = ρ * a + (1 - ρ) * g       running mean
                   denominator = v - a² + ε      (a variance estimate)
        else:      denominator = v + ε           (ε inside the square root, as Keras)
        increment = lr * g / √denominator
        momentum > 0:  M = μ * M + increment;  w = w - M
        else:          w = w - increment

    Slots (Keras 3's lists): ``self._velocities[i]`` (v), ``self._momentums[i]`` (M, when
    momentum > 0), ``self._average_gradients[i]`` (a, when centered).
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__,
                                         rho=rho, momentum=momentum, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._velocities = self.add_optimizer_variables(new, "velocity")
        self._momentums: list[Any] = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(new, "momentum")
        self._average_gradients: list[Any] = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(new, "average_gradient")
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, rho, epsilon = dtype(learning_rate), dtype(self.rho), dtype(self.epsilon)
        one_minus_rho = dtype(1 - self.rho)   # rounded once, as Keras does
        g = gradient
        i = self._get_variable_index(variable)
        v = self._velocities[i]
        v[...] = rho * v + one_minus_rho * (g * g)
        if self.centered:
            a = self._average_gradients[i]
            a[...] = rho * a + one_minus_rho * g
            denominator = v - a * a + epsilon
        else:
            denominator = v + epsilon
        increment = lr * g / xp.sqrt(denominator)
        if self.momentum > 0:
            mu = dtype(self.momentum)
            M = self._momentums[i]
            M[...] = mu * M + increment
            variable.value -= M
        else:
            variable.value -= increment

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}

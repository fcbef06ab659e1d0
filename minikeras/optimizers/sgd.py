"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class SGD(Optimizer):
    """Gradient descent. With g the gradient, lr the learning rate, μ the momentum::

        momentum == 0:   w = w - lr * g
        otherwise:       m = μ * m - lr * g
                         w = w + m                   (nesterov=False)
                         w = w + μ * m - lr * g      (nesterov=True, with the updated m)

    Slots: ``self.momentums[i]`` is m of weight i (only when momentum > 0), as in Keras 3.
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        validation.check_float_in(momentum, "momentum", type(self).__name__, 0.0, 1.0,
                                  float_only=True)
        self.momentum, self.nesterov = momentum, nesterov

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self.momentums: list[Any] = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(new, "momentum")
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        dtype = variable.dtype.type   # constants in the weight's dtype
        lr = dtype(learning_rate)
        g = gradient
        if self.momentum == 0:
            variable.value -= g * lr
            return
        mu = dtype(self.momentum)
        m = self.momentums[self._get_variable_index(variable)]
        m[...] = m * mu - g * lr
        if self.nesterov:
            variable.value += m * mu - g * lr
        else:
            variable.value += m

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

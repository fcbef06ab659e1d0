"""Adagrad: each entry's step shrinks with the sum of its squared gradients so far."""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class Adagrad(Optimizer):
    """With g the gradient, ε = epsilon (Keras 3's form)::

        accumulator = accumulator + g²          (starts at initial_accumulator_value)
        w = w - lr * g / √(accumulator + ε)

    Slots (Keras 3's list): ``self._accumulators[i]``.
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__, epsilon=epsilon)
        validation.check_float_in(initial_accumulator_value, "initial_accumulator_value",
                                  type(self).__name__, 0.0, float("inf"))
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._accumulators = self.add_optimizer_variables(
            new, "accumulator", initial_value=self.initial_accumulator_value)
        return new

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, epsilon = dtype(learning_rate), dtype(self.epsilon)
        g = gradient
        accumulator = self._accumulators[self._get_variable_index(variable)]
        accumulator += g * g
        variable.value -= lr * g / xp.sqrt(accumulator + epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}

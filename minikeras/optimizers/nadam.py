"""Nadam: Adam with Nesterov momentum (Dozat 2015), with Keras 3's momentum schedule."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend
from minikeras.optimizers.optimizer import Optimizer
from minikeras.utils import validation
from minikeras.variable import Variable


class Nadam(Optimizer):
    """With g the gradient, t = iterations + 1, β₁ = beta_1, β₂ = beta_2, ε = epsilon
    (Keras 3's form)::

        u_t = β₁ * (1 - 0.5 * 0.96ᵗ)              momentum schedule at step t
        u_t_1 = β₁ * (1 - 0.5 * 0.96ᵗ⁺¹)          ... and at step t + 1
        u_product_t = u_1 * u_2 * ... * u_t       (kept in ``self._u_product``)
        u_product_t_1 = u_product_t * u_t_1
        m = m + (g - m) * (1 - β₁)
        v = v + (g² - v) * (1 - β₂)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - β₂ᵗ)
        w = w - m_hat * lr / (√v_hat + ε)

    Keras 3's schedule decays as 0.96ᵗ; the paper and Keras 2 use 0.96^(0.004·t)
    (``schedule_decay=0.004``), a much slower schedule. minikeras follows Keras 3.
    Constants such as 1 - β₁ are float32 operations here (Keras casts β₁ first), not the
    rounded Python values that Adam uses.

    Slots (Keras 3's lists): ``self._momentums[i]`` (m), ``self._velocities[i]`` (v); one
    scalar ``self._u_product``, advanced once per step before the weights are updated.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        validation.check_hyperparameters(type(self).__name__,
                                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = np.array(1.0, dtype=np.float32)

    def build(self, variables: list[Variable]) -> list[Variable]:
        new = super().build(variables)   # the weights seen for the first time
        self._momentums, self._velocities = self.add_optimizer_variables(
            new, ["momentum", "velocity"])
        return new

    def _extra_variables(self) -> list[str]:
        return ["_u_product"]

    def _backend_update_step(self, grads: list[Any], trainable_variables: list[Variable],
                             learning_rate: float) -> None:
        # u_product_t = u_product_{t-1} * u_t, once per step (each update_step reads it)
        dtype = self._u_product.dtype.type
        t, decay = dtype(self.iterations + 1), dtype(0.96)
        self._u_product[...] = self._u_product * self.beta_1 * (1 - 0.5 * decay**t)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        xp, dtype = backend.xp, variable.dtype.type   # constants in the weight's dtype
        lr, beta_1, beta_2, epsilon = (dtype(learning_rate), dtype(self.beta_1),
                                       dtype(self.beta_2), dtype(self.epsilon))
        t, decay, half = dtype(self.iterations + 1), dtype(0.96), dtype(0.5)
        g = gradient
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        u_t = beta_1 * (1 - half * decay**t)
        u_t_1 = beta_1 * (1 - half * decay**(t + 1))
        u_product_t = dtype(self._u_product)
        u_product_t_1 = u_product_t * u_t_1
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - beta_2**t)
        variable.value -= m_hat * lr / (xp.sqrt(v_hat) + epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}

"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

from __future__ import annotations

from typing import Any

from minikeras.optimizers.adam import Adam


class AdamW(Adam):
    """Adam (see ``adam.py``) whose weights also decay, before each Adam update::

        w = w - w * weight_decay * lr            (``Optimizer._apply_weight_decay``)

    the same decay every optimizer applies when given ``weight_decay``; AdamW only makes it
    the default (0.004) and requires it.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")

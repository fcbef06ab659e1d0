"""Optimizers with Keras 3's exact update formulas, computed in the weights' dtype (float32).

One file per optimizer, as Keras 3 lays them out: ``optimizer.py`` (the base class: the step
around the formulas), then ``sgd.py``, ``rmsprop.py``, ``adam.py``, ``adadelta.py``,
``adagrad.py``, ``adamax.py``, ``nadam.py``, ``adamw.py``, each an ``update_step`` that
reads as its docstring's equations; ``schedules/``, the learning-rate schedules
(``ExponentialDecay``, ``CosineDecay``...) an optimizer can take as its ``learning_rate``.
An optimizer owns its state (momentums, velocities...), one array per weight, created on the
first ``apply``. Layers compute gradients; only the optimizer changes weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minikeras.optimizers import schedules
from minikeras.optimizers.adadelta import Adadelta
from minikeras.optimizers.adagrad import Adagrad
from minikeras.optimizers.adam import Adam
from minikeras.optimizers.adamax import Adamax
from minikeras.optimizers.adamw import AdamW
from minikeras.optimizers.nadam import Nadam
from minikeras.optimizers.optimizer import LearningRateTypeError, Optimizer, Schedule
from minikeras.optimizers.rmsprop import RMSprop
from minikeras.optimizers.sgd import SGD

ALL_OBJECTS: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls
    for cls in (SGD, RMSprop, Adam, Adadelta, Adagrad, Adamax, Nadam, AdamW)
}

#: name -> what ``get(name)`` builds instead of ``ALL_OBJECTS[name]()``: filled by
#: ``python -m minikeras.as_keras`` while it serves ``keras`` (Keras 2's default learning
#: rates for ``compile(optimizer="adadelta")``), empty otherwise
NAME_OVERRIDES: dict[str, Callable[[], Optimizer]] = {}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": "Adam", "config": {...}}`` (Keras' shape, without its module keys)."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """The optimizer a ``serialize`` dict (or a Keras one) describes."""
    name = str(config.get("class_name", ""))
    cls = ALL_OBJECTS.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer class_name {name!r}; expected one of "
                         f"{sorted(c.__name__ for c in ALL_OBJECTS.values())}.")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Optimizer:
    """A name such as ``"adam"`` (any case, as Keras matches them), an Optimizer, its class,
    or a serialized dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in NAME_OVERRIDES:
        return NAME_OVERRIDES[identifier.lower()]()
    if isinstance(identifier, str) and identifier.lower() in ALL_OBJECTS:
        return ALL_OBJECTS[identifier.lower()]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Valid names: "
        f"{sorted(ALL_OBJECTS)} (or an Optimizer instance)."
    )


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LearningRateTypeError",
           "Nadam", "Optimizer", "RMSprop", "Schedule", "deserialize", "get", "schedules",
           "serialize"]

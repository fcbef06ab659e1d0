"""``keras.optimizers`` with Keras 1/2's positional orders and integer hyperparameters.

minikeras' optimizers already take ``lr=`` and ``decay=`` (with a DeprecationWarning). What
old code also did, and Keras 3 rejects or reads differently:

- positional arguments in Keras 1/2 order: ``RMSprop(0.001, 0.9, 1e-8)`` was (lr, rho,
  epsilon); in Keras 3 the third is ``momentum``;
- integers: ``SGD(lr=1, momentum=0)``; Keras 3 wants floats;
- ``epsilon=None``, Keras 2's "use K.epsilon()";
- no learning rate: standalone Keras 2.2's defaults where Keras 3's differ (Adadelta 1.0,
  Adagrad 0.01, Adamax and Nadam 0.002), with a one-line DeprecationWarning; the update
  formulas stay Keras 3's (``minikeras/optimizers/``);
- Nadam's ``schedule_decay``: accepted and ignored, with a warning (Keras 3's momentum
  schedule has no such argument).
"""

from __future__ import annotations

import warnings
from typing import Any

import minikeras.optimizers as _opt
from minikeras._keras_shim.optimizers import schedules
from minikeras.optimizers import Optimizer, get, serialize

# the first positional argument is the learning rate in Keras 1/2 and 3 alike: no `lr` warning
_POSITIONAL = {
    "SGD": ("learning_rate", "momentum", "decay", "nesterov"),
    "RMSprop": ("learning_rate", "rho", "epsilon", "decay"),
    "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "decay", "amsgrad"),
    "Adagrad": ("learning_rate", "epsilon", "decay"),
    "Adadelta": ("learning_rate", "rho", "epsilon", "decay"),
    "Adamax": ("learning_rate", "beta_1", "beta_2", "epsilon", "decay"),
    "Nadam": ("learning_rate", "beta_1", "beta_2", "epsilon", "schedule_decay"),
    "AdamW": ("learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon", "amsgrad"),
}
# standalone Keras 2.2's default learning rates, where Keras 3's differ
_KERAS2_LR = {"Adadelta": 1.0, "Adagrad": 0.01, "Adamax": 0.002, "Nadam": 0.002}
_FLOATS = ("lr", "learning_rate", "momentum", "rho", "beta_1", "beta_2", "epsilon", "decay",
           "weight_decay", "initial_accumulator_value")


def _legacy(cls: type) -> type:
    names = _POSITIONAL[cls.__name__]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments "
                            f"{names} (Keras 1/2 order); got {len(args)}.")
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}.")
            kwargs[name] = value
        if "lr" in kwargs:  # converted here so that the warning points at the caller's line
            if "learning_rate" in kwargs:
                raise TypeError(f"{cls.__name__}() received both `lr` and `learning_rate`.")
            kwargs["learning_rate"] = kwargs.pop("lr")
            warnings.warn(f"{cls.__name__}: `lr` is Keras 1/2 spelling; use `learning_rate`.",
                          DeprecationWarning, stacklevel=2)
        if "learning_rate" not in kwargs and cls.__name__ in _KERAS2_LR:
            kwargs["learning_rate"] = _KERAS2_LR[cls.__name__]
            warnings.warn(f"{cls.__name__}(): no learning rate given, so Keras 1/2's default "
                          f"{_KERAS2_LR[cls.__name__]} is used (Keras 3's: 0.001); pass "
                          "`learning_rate=` to choose.", DeprecationWarning, stacklevel=2)
        if "schedule_decay" in kwargs:
            kwargs.pop("schedule_decay")
            warnings.warn(f"{cls.__name__}: `schedule_decay` is Keras 1/2 API and is ignored "
                          "(Keras 3's momentum schedule is beta_1 * (1 - 0.5 * 0.96**t)).",
                          DeprecationWarning, stacklevel=2)
        if "epsilon" in kwargs and kwargs["epsilon"] is None:
            del kwargs["epsilon"]
        for key in _FLOATS:
            if isinstance(kwargs.get(key), int) and not isinstance(kwargs[key], bool):
                kwargs[key] = float(kwargs[key])
        decay = kwargs.pop("decay", 0.0) or 0.0
        cls.__init__(self, **kwargs)
        if decay:  # set here, so that the warning points at the caller's line
            self.decay = float(decay)
            warnings.warn(f"{cls.__name__}: `decay` is Keras 1/2 API (Keras 3 ignores it); "
                          "minikeras applies it as Keras 2 did: lr / (1 + decay * iterations). "
                          "Use a learning-rate schedule instead.", DeprecationWarning,
                          stacklevel=2)

    # Same class name, so saved configs and summaries read "SGD", not a wrapper's name.
    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__,
                                       "__module__": cls.__module__})


SGD = _legacy(_opt.SGD)
RMSprop = _legacy(_opt.RMSprop)
Adam = _legacy(_opt.Adam)
Adagrad = _legacy(_opt.Adagrad)
Adadelta = _legacy(_opt.Adadelta)
Adamax = _legacy(_opt.Adamax)
Nadam = _legacy(_opt.Nadam)
AdamW = _legacy(_opt.AdamW)
# Keras 2's lower-case aliases
sgd, rmsprop, adam, adagrad, adadelta, adamax, nadam = (SGD, RMSprop, Adam, Adagrad, Adadelta,
                                                        Adamax, Nadam)
#: what ``python -m minikeras.as_keras`` makes ``optimizers.get("adadelta")`` (and so
#: ``compile(optimizer="adadelta")``) build while it serves ``keras``: these classes
LEGACY_NAMES = {cls.__name__.lower(): cls
                for cls in (SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam, AdamW)}


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer",
           "RMSprop", "adadelta", "adagrad", "adam", "adamax", "get", "nadam", "rmsprop",
           "schedules", "serialize", "sgd"]

"""Learning-rate schedules: the learning rate as a function of the step, as in Keras 3.

An optimizer given a schedule (``Adam(learning_rate=ExponentialDecay(1e-3, 1000, 0.96))``)
asks it for the learning rate before every step: ``lr = schedule(optimizer.iterations)``,
``iterations`` being the number of steps already taken (0 for the first step).

The schedules are in ``learning_rate_schedule.py`` (Keras' file name). Each ``__call__``
computes its docstring's formula one quantity per line, in float32 and in the order of
operations Keras 3 uses, so that the values are Keras' to the bit at 99% of steps or more; the
others are a few units in the last place apart, where TensorFlow's cosf/logf/powf round the
exact value differently from ``cos32``/``log32``/``pow32`` (``checks.py``). Every argument is
first rounded to float32, as Keras casts it; a Python constant that Keras combines with
another Python number first (CosineDecay's ``1 - alpha``) is computed in float64 and rounded
once, as there.

``serialize(schedule)`` gives Keras' dict (``{"module": "keras.optimizers.schedules",
"class_name": ..., "config": ..., "registered_name": None}``) and ``deserialize`` reads it
back, also from a Keras file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.optimizers.schedules.checks import cos32, log32, pow32
from minikeras.optimizers.schedules.learning_rate_schedule import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

ALL_OBJECTS: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls for cls in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay,
                                  PolynomialDecay, InverseTimeDecay, CosineDecay,
                                  CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras' dict for a schedule: module, class name, ``get_config()``, registered name (a
    schedule of the user's own: its module (None for ``__main__``) and its class name as
    ``"registered_name"``)."""
    cls = type(learning_rate_schedule)
    own = ALL_OBJECTS.get(cls.__name__) is cls
    module = "keras.optimizers.schedules" if own else cls.__module__
    return {"module": None if module == "__main__" else module,
            "class_name": cls.__name__, "config": _plain(learning_rate_schedule.get_config()),
            "registered_name": None if own else cls.__name__}


def _plain(value: Any) -> Any:
    """NumPy numbers as Python ones, in lists and dicts too (as Keras serializes them), so
    that the config can be written as JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return value


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                ) -> LearningRateSchedule:
    """The schedule a ``serialize`` dict (minikeras' or Keras') describes; a schedule class
    of the user's own is found in ``custom_objects`` by class or registered name."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"deserialize: expected a dict with a 'class_name' (from serialize); "
                        f"received {config!r}.")
    custom = custom_objects or {}
    name, registered = config["class_name"], config.get("registered_name")
    cls = custom.get(registered) or custom.get(name) or ALL_OBJECTS.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule class_name {name!r}: expected one of "
                         f"{sorted(ALL_OBJECTS)}, or a class passed in `custom_objects`.")
    return cls.from_config(dict(config.get("config", {})))


__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
           "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
           "cos32", "log32", "pow32", "serialize"]

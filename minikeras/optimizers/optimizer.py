"""The optimizer base class: what every optimizer does around its own update formula.

One training step, as ``Model._train_step`` calls it::

    optimizer.apply(grads, trainable_variables)
      -> build(new variables)          state arrays (slots) for weights seen the first time
      -> grads in the weights' dtypes  g.astype(w.dtype): a float64 gradient of a float32
                                       weight is rounded once, before any formula reads it
      -> _clip_gradients(grads)        clipnorm / global_clipnorm / clipvalue
      -> _apply_weight_decay(vars)     w <- w - w * weight_decay * lr   (if weight_decay)
      -> _backend_update_step(...)     the step's one call over all weights (Nadam advances
                                       its u_product here, once per step), which calls
           -> update_step(g, w, lr)    for each (gradient, variable): the optimizer's formula
      -> _moving_average_step()        use_ema: each weight's moving average (``ema.py``)
      -> iterations += 1

Each optimizer (``sgd.py``, ``adam.py``, ...) writes only ``build`` (its slots) and
``update_step(gradient, variable, learning_rate)``: the formulas of its docstring, one line
per quantity, on the layer's own weight (``variable.name`` is e.g. ``dense/kernel``).

The contract ``update_step`` relies on, as in Keras 3:

* ``variable.value`` is the weight array, updated in place (``-=``, ``+=``, ``[...] =``);
* ``gradient`` has the weight's shape and dtype;
* ``learning_rate`` is this step's learning rate (a float32 number);
* ``self._get_variable_index(variable)`` is the weight's place in the slot lists, so that
  ``self._momentums[index]`` is its momentum (each optimizer documents its lists);
* ``self.iterations`` is the number of steps already taken (the step being made is
  ``iterations + 1``).

Formulas run in the weights' dtype (float32), in Keras' order of operations, so that a run
rounds exactly like Keras' float32 run: Python-float constants such as ``1 - self.beta_1``
are computed in float64 and rounded once, as Keras does, where Keras writes them that way.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.optimizers import schedules
from minikeras.optimizers.argument_checks import (  # noqa: F401  (the error: public here too)
    LearningRateTypeError,
    _check_gradients,
    check_clipping_and_decay,
    check_learning_rate,
)
from minikeras.optimizers.ema import MovingAverageMixin, check_ema_arguments
from minikeras.variable import Variable

Schedule = Callable[[], float]   # a plain callable learning rate, as Keras 3 calls it

#: Keras 3 base arguments that minikeras does not implement: accepted at their defaults only
_NOT_IMPLEMENTED = {"loss_scale_factor": None, "gradient_accumulation_steps": None}


class Optimizer(MovingAverageMixin):
    """Base of all optimizers: learning rate, iteration counter, clipping, weight decay,
    the weights' moving average (``ema.py``) and the per-weight state (slots).

    Arguments, as Keras 3's: ``learning_rate`` (float, a ``LearningRateSchedule`` such as
    ``schedules.ExponentialDecay``, or a callable taking no arguments), ``weight_decay``
    (decoupled: w <- w - w * weight_decay * lr before each update), ``clipnorm`` (each
    gradient's norm at most this), ``clipvalue`` (each entry in [-clipvalue, clipvalue]),
    ``global_clipnorm`` (the norm of all gradients together at most this), ``name``,
    ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency`` (the weights' average: ``ema.py``).
    Keras 2's ``lr`` and ``decay`` are accepted with a DeprecationWarning.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(f"{owner}: `lr` is Keras 1/2 spelling; use `learning_rate`.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        #: Keras 2's time decay, lr / (1 + decay * iterations); Keras 3 dropped it.
        self.decay = float(kwargs.pop("decay", 0.0) or 0.0)
        if self.decay:
            warnings.warn(f"{owner}: `decay` is Keras 1/2 API (Keras 3 ignores it); "
                          "minikeras applies it as Keras 2 did: lr / (1 + decay * iterations). "
                          "Use a learning-rate schedule instead.", DeprecationWarning, stacklevel=3)
        for arg, default in _NOT_IMPLEMENTED.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise NotImplementedError(f"{owner}: `{arg}` is not supported by minikeras; "
                                          f"leave it at its default ({default!r}).")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        check_clipping_and_decay(owner, weight_decay, clipnorm, clipvalue, global_clipnorm)
        check_learning_rate(owner, learning_rate)
        check_ema_arguments(owner, use_ema, ema_momentum, ema_overwrite_frequency)
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = (
            use_ema, ema_momentum, ema_overwrite_frequency)
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        #: the weights this optimizer has state for, in the order they were first seen
        self._trainable_variables: list[Variable] = []
        self._trainable_variables_indices: dict[int, int] = {}
        #: slot name -> one array per weight (``self._momentums`` is ``_slot_lists["momentum"]``)
        self._slot_lists: dict[str, list[Any]] = {}
        #: the slot names as ``add_optimizer_variables`` created them: Keras' saved order
        self._groups: list[tuple[str, ...]] = []
        self._exclude_from_weight_decay: set[int] = set()
        self._exclude_from_weight_decay_pattern: re.Pattern[str] | None = None

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> float:
        """The current learning rate (as float32, like Keras' variable); with a schedule,
        its value at ``iterations``, the rate of the next step (as Keras); a plain callable's
        value as it returns it (Keras does not round it: the update does)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            value = lr(self.iterations)   # a schedule: its value at the step to be taken
        elif callable(lr) and not self.decay:
            return float(lr())            # a plain callable takes no arguments (Keras 3)
        elif callable(lr):
            value = lr()
        else:
            value = lr
        if self.decay:
            value = value / (1.0 + self.decay * self.iterations)
        return float(np.float32(value))

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if callable(value):   # a schedule replaces whatever was there, as in Keras
            check_learning_rate(type(self).__name__, value)
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(   # Keras' refusal (LearningRateScheduler, ReduceLROnPlateau meet it)
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                f"optimizer with a float `learning_rate` argument. Received: {value!r}")
        self._learning_rate = float(value)

    lr = learning_rate

    # ------------------------------------------------------------------ state
    def build(self, variables: list[Variable]) -> list[Variable]:
        """Remember the weights not seen before and return them; each optimizer's ``build``
        then creates their slots (called again with known weights, it creates nothing)."""
        new = [var for var in variables if id(var) not in self._trainable_variables_indices]
        for var in new:
            self._trainable_variables_indices[id(var)] = len(self._trainable_variables)
            self._trainable_variables.append(var)
        if self.use_ema:   # the first slots, as in Keras: each weight's moving average
            self._model_variables_moving_average = self.add_optimizer_variables(new, "average")
        return new

    def add_optimizer_variables(self, variables: list[Variable], names: str | list[str],
                                initial_value: float = 0.0) -> Any:
        """One slot array per weight (its shape and dtype, filled with ``initial_value``) for
        each name; returns the list of arrays of a name (a tuple of lists for several names),
        the same list object on every call, so a later ``build`` of new weights extends it."""
        single = isinstance(names, str)
        group = (names,) if single else tuple(names)
        if group not in self._groups:
            self._groups.append(group)
        lists = []
        for name in group:
            slots = self._slot_lists.setdefault(name, [])
            slots.extend(backend.xp.full_like(var.value, initial_value) for var in variables)
            lists.append(slots)
        return lists[0] if single else tuple(lists)

    def _get_variable_index(self, variable: Variable) -> int:
        """The weight's place in the slot lists."""
        return self._trainable_variables_indices[id(variable)]

    def _extra_variables(self) -> list[str]:
        """Names of scalar state attributes saved after the slots (Nadam's ``_u_product``)."""
        return []

    def _slot_groups(self) -> list[tuple[str, ...]]:
        """Keras' order of the state: group after group, each group weight by weight (Adam:
        (momentum, velocity) of each weight; RMSprop: every velocity, then every momentum)."""
        if not self._groups:
            self.build([])   # records the groups this configuration creates, with no weights
        return list(self._groups)

    @property
    def _slot_names(self) -> tuple[str, ...]:
        return tuple(name for group in self._slot_groups() for name in group)

    @property
    def _tracked(self) -> list[Variable]:
        return self._trainable_variables

    @property
    def _slots(self) -> dict[int, dict[str, Any]]:
        """``id(weight) -> {slot name: array}`` (the saving code's view of the slot lists)."""
        return {id(var): {name: self._slot_lists[name][i] for name in self._slot_names}
                for i, var in enumerate(self._trainable_variables)}

    def _scalar_variable_names(self) -> list[str]:
        """The first variables: iterations, then the learning rate, which is a variable only
        when it is a number (Keras computes a schedule's from iterations, and saves none)."""
        if callable(self._learning_rate):
            return ["iterations"]
        return ["iterations", "learning_rate"]

    @property
    def variables(self) -> list[Any]:
        """Keras order: iterations, learning_rate (unless a schedule), the slots in
        ``_slot_groups`` order, then any scalar state (the order of ``optimizer/vars`` in a
        Keras weights file)."""
        out: list[Any] = [np.array(self.iterations, dtype=np.int64)]
        if "learning_rate" in self._scalar_variable_names():
            out.append(np.array(self.learning_rate, dtype=np.float32))
        for group in self._slot_groups():
            for i in range(len(self._trainable_variables)):
                out += [self._slot_lists[name][i] for name in group]
        return out + [getattr(self, name) for name in self._extra_variables()]

    # ------------------------------------------------------------------ one step
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> None:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads: list[Any], trainable_variables: list[Variable]) -> None:
        """One step: clip the gradients, decay the weights, ``update_step`` each weight,
        then count the step."""
        _check_gradients(type(self).__name__, grads, trainable_variables)
        self.build(trainable_variables)   # slots for weights seen the first time
        grads = [g.astype(v.value.dtype, copy=False)   # each gradient in its weight's dtype
                 for g, v in zip(grads, trainable_variables, strict=True)]
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(trainable_variables)
        self._backend_update_step(grads, trainable_variables, self.learning_rate)
        self._moving_average_step()   # use_ema: the averages (ema.py), before the count
        self.iterations += 1

    def _backend_update_step(self, grads: list[Any], trainable_variables: list[Variable],
                             learning_rate: float) -> None:
        """Every weight's ``update_step``, once per step (as Keras' ``_backend_update_step``;
        an optimizer with per-step state, Nadam, advances it here first)."""
        for gradient, variable in zip(grads, trainable_variables, strict=True):
            self.update_step(gradient, variable, learning_rate)

    def update_step(self, gradient: Any, variable: Variable, learning_rate: float) -> None:
        """Change ``variable.value`` in place from its ``gradient`` (each optimizer's formula)."""
        raise NotImplementedError(f"{type(self).__name__} must define update_step(gradient, "
                                  "variable, learning_rate).")

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        """Keras' three clippings (one at most is set): each gradient's norm at most
        ``clipnorm``; all gradients' joint norm at most ``global_clipnorm``; each entry in
        [-clipvalue, clipvalue]."""
        xp = backend.xp
        if self.clipnorm and self.clipnorm > 0:
            c = self.clipnorm
            return [g * c / xp.maximum(xp.sqrt((g * g).sum()), c) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            c = self.global_clipnorm
            norm = xp.sqrt(sum((g * g).sum() for g in grads))
            return [g * (c / xp.maximum(norm, c)) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list: list[Variable] | None = None,
                                  var_names: list[str] | None = None) -> None:
        """Weights left out of ``weight_decay``: these variables, and any whose name contains
        one of ``var_names`` (e.g. ``["bias"]``). Before the first step, as in Keras."""
        if self._trainable_variables:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = {id(v) for v in var_list or []}
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None)

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_from_weight_decay:
            return False
        pattern = self._exclude_from_weight_decay_pattern
        return pattern is None or pattern.search(variable.name) is None

    def _apply_weight_decay(self, variables: list[Variable]) -> None:
        """Decoupled weight decay, before the update: w <- w - w * weight_decay * lr."""
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = variable.dtype.type(self.learning_rate)
                wd = variable.dtype.type(self.weight_decay)
                variable.value -= variable.value * wd * lr

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Keras' keys; a schedule is stored as its ``schedules.serialize`` dict."""
        learning_rate: Any = self.learning_rate
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._learning_rate)
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Optimizer:
        """``cls(**config)``, a serialized schedule rebuilt first (``custom_objects`` finds a
        schedule class of the user's own)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)

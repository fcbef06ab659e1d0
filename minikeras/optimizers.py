"""Optimizers with Keras 3's exact update formulas, computed in the weights' dtype (float32).

An optimizer owns its state (momentums, velocities...), one set per weight, created on the
first ``apply_gradients``. Layers compute gradients; only the optimizer changes weights.
Scalars (learning rate, betas) are cast to the weight dtype first, as Keras does, so that a
float32 run rounds exactly like Keras' float32 run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.parameter_pack import ParameterPack, packable
from minikeras.utils import validation
from minikeras.variable import Variable


class Optimizer:
    """Base: learning rate, iteration counter, gradient clipping, per-weight state."""

    _slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        if "lr" in kwargs:
            warnings.warn(f"{type(self).__name__}: `lr` is Keras 1/2 spelling; use "
                          "`learning_rate`.", DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        #: Keras 2's time decay, lr / (1 + decay * iterations); Keras 3 dropped it.
        self.decay = float(kwargs.pop("decay", 0.0) or 0.0)
        if self.decay:
            warnings.warn(f"{type(self).__name__}: `decay` is Keras 1/2 API (Keras 3 ignores it); "
                          "minikeras applies it as Keras 2 did: lr / (1 + decay * iterations). "
                          "Use a learning-rate schedule instead.", DeprecationWarning, stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        if weight_decay:
            raise NotImplementedError("weight_decay is not supported by minikeras yet.")
        if not callable(learning_rate) and not isinstance(learning_rate, float | np.floating):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule,"
                f" or a callable that takes an `iterations` argument. Received: {learning_rate!r}"
            )
        # Checks at the door, kept in one block (a likely mistake is accepted with a warning).
        where = type(self).__name__
        validation.check_learning_rate(learning_rate, where)
        for arg, clip in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                          ("global_clipnorm", global_clipnorm)):
            validation.check_float_in(clip, arg, where, 0.0, float("inf"), allow_none=True)
        self._learning_rate = learning_rate
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots: dict[int, dict[str, Any]] = {}
        self._tracked: list[Variable] = []
        self._pack: ParameterPack | None = None   # the small weights' flat buffers

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> float:
        """The current learning rate (as float32, like Keras' variable)."""
        lr = self._learning_rate
        value = lr(self.iterations) if callable(lr) else lr
        if self.decay:
            value = value / (1.0 + self.decay * self.iterations)
        return float(np.float32(value))

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = float(value)

    lr = learning_rate

    # ------------------------------------------------------------------ state
    def build(self, variables: list[Variable]) -> None:
        """Create zero-filled state (one array per slot name) for each new variable."""
        xp = backend.xp
        for var in variables:
            if id(var) not in self._slots:
                self._slots[id(var)] = {s: xp.zeros_like(var.value) for s in self._slot_names}
                self._tracked.append(var)

    def _slot_groups(self) -> list[tuple[str, ...]]:
        """Keras' order of the state: group after group, each group weight by weight (e.g.
        RMSprop: every velocity, then every momentum; Adam overrides: (m, v) per weight)."""
        return [(s,) for s in self._slot_names]

    @property
    def variables(self) -> list[Any]:
        """Keras order: iterations, learning_rate, then the slots in ``_slot_groups`` order
        (the order of ``optimizer/vars`` in a Keras weights file)."""
        out: list[Any] = [np.array(self.iterations, dtype=np.int64),
                          np.array(self.learning_rate, dtype=np.float32)]
        for group in self._slot_groups():
            for var in self._tracked:
                out += [self._slots[id(var)][s] for s in group]
        return out

    # ------------------------------------------------------------------ updates
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> None:
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads: list[Any], variables: list[Variable]) -> None:
        """One step: clip, then ``update_step`` for each (gradient, weight); iterations += 1.

        The small weights are updated together, as one flat array (``parameter_pack.py``:
        the formulas are element-wise, so the numbers are the same, for fewer NumPy calls).
        """
        self.build(variables)
        grads = self._clip(grads)
        dtype = variables[0].value.dtype if variables else np.float32
        lr = dtype.type(self.learning_rate)
        pack = self._pack_for(variables)
        if pack is not None:
            in_pack: list[Any] = [None] * len(pack.variables)
            rest = []
            for g, var in zip(grads, variables, strict=True):
                if id(var) in pack.position:
                    in_pack[pack.position[id(var)]] = g
                else:
                    rest.append((g, var))
            self.update_step(pack.gather(in_pack), pack.flat, lr)
        else:
            rest = list(zip(grads, variables, strict=True))
        for g, var in rest:
            self.update_step(g.astype(var.value.dtype, copy=False), var, lr)
        self.iterations += 1

    def _pack_for(self, variables: list[Variable]) -> ParameterPack | None:
        """The pack of this step's small weights (made anew when they change)."""
        small = packable(variables)
        if not small:
            return None
        pack = self._pack
        if pack is None or not pack.holds(small):
            if pack is not None:
                self._slots.pop(id(pack.flat), None)
            pack = self._pack = ParameterPack(small, self._slots, self._slot_names)
            self._slots[id(pack.flat)] = pack.slots
        return pack

    def update_step(self, grad: Any, var: Variable, lr: Any) -> None:
        raise NotImplementedError

    def _clip(self, grads: list[Any]) -> list[Any]:
        xp = backend.xp
        if self.clipvalue is not None:
            return [xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            c = self.clipnorm
            return [g * c / xp.maximum(xp.sqrt((g * g).sum()), c) for g in grads]
        if self.global_clipnorm is not None:
            c = self.global_clipnorm
            norm = xp.sqrt(sum((g * g).sum() for g in grads))
            return [g * (c / xp.maximum(norm, c)) for g in grads]
        return grads

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self.learning_rate,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)


class SGD(Optimizer):
    """Plain: w ← w − lr·g.  With momentum μ: m ← μ·m − lr·g, then w ← w + m, or with
    Nesterov w ← w + μ·m − lr·g (using the updated m)."""

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        validation.check_float_in(momentum, "momentum", "SGD", 0.0, 1.0, float_only=True)
        self.momentum, self.nesterov = momentum, nesterov
        self._slot_names = ("momentum",) if momentum else ()

    def update_step(self, grad: Any, var: Variable, lr: Any) -> None:
        if not self.momentum:
            var.value -= grad * lr
            return
        mu = var.value.dtype.type(self.momentum)
        m = self._slots[id(var)]["momentum"]
        m[...] = m * mu - grad * lr
        if self.nesterov:
            var.value += m * mu - grad * lr
        else:
            var.value += m

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """v ← ρv + (1−ρ)g²;  centered: a ← ρa + (1−ρ)g, D = v − a² + ε, else D = v + ε;
    Δ = lr·g / √D  (ε inside the root);  momentum μ: M ← μM + Δ, w ← w − M;  else w ← w − Δ."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any) -> None:
        validation.check_hyperparameters("RMSprop", rho=rho, momentum=momentum, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self._slot_names = ("velocity",) + (("momentum",) if momentum > 0 else ()) + (
            ("average_gradient",) if centered else ())

    def update_step(self, grad: Any, var: Variable, lr: Any) -> None:
        xp, t = backend.xp, var.value.dtype.type
        slots = self._slots[id(var)]
        rho = t(self.rho)
        v = slots["velocity"]
        v[...] = rho * v + t(1 - self.rho) * (grad * grad)
        if self.centered:
            a = slots["average_gradient"]
            a[...] = rho * a + t(1 - self.rho) * grad
            denominator = v - a * a + t(self.epsilon)
        else:
            denominator = v + t(self.epsilon)
        increment = lr * grad / xp.sqrt(denominator)
        if self.momentum > 0:
            m = slots["momentum"]
            m[...] = t(self.momentum) * m + increment
            var.value -= m
        else:
            var.value -= increment

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """t = iterations + 1;  m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂);
    α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ);  w ← w − α·m / (√v + ε)   (ε not bias-corrected).
    amsgrad: v̂ ← max(v̂, v) and v̂ replaces v in the denominator."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        validation.check_hyperparameters("Adam", beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self._slot_names = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())

    def _slot_groups(self) -> list[tuple[str, ...]]:
        # Keras creates (momentum, velocity) interleaved per weight, then velocity_hats
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def apply(self, grads: list[Any], variables: list[Variable]) -> None:
        # α depends only on the step: compute it once per step, in the weights' dtype.
        t = variables[0].value.dtype.type if variables else np.float32
        step = t(self.iterations + 1)
        b1_power, b2_power = t(self.beta_1) ** step, t(self.beta_2) ** step
        self._powers = (b1_power, b2_power)
        super().apply(grads, variables)

    def update_step(self, grad: Any, var: Variable, lr: Any) -> None:
        xp, t = backend.xp, var.value.dtype.type
        b1_power, b2_power = self._powers
        slots = self._slots[id(var)]
        m, v = slots["momentum"], slots["velocity"]
        alpha = lr * t(np.sqrt(t(1) - b2_power)) / (t(1) - b1_power)
        # The same operations as the formulas above, in the same order (so the same float32
        # rounding), written with two scratch buffers instead of a temporary per operation.
        a, b = self._scratch(var)
        xp.subtract(grad, m, out=a)                 # m += (g - m)(1 - β₁)
        a *= t(1 - self.beta_1)
        m += a
        xp.multiply(grad, grad, out=a)              # v += (g² - v)(1 - β₂)
        a -= v
        a *= t(1 - self.beta_2)
        v += a
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        xp.multiply(m, alpha, out=a)                # w -= α m / (√v + ε)
        xp.sqrt(v, out=b)
        b += t(self.epsilon)
        a /= b
        var.value -= a

    def _scratch(self, var: Variable) -> tuple[Any, Any]:
        key = (var.value.shape, var.value.dtype.str)
        cache = self.__dict__.setdefault("_scratch_buffers", {})
        if key not in cache:
            cache[key] = (backend.xp.empty_like(var.value), backend.xp.empty_like(var.value))
        return cache[key]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


_NAMES: dict[str, type] = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier: Any) -> Optimizer:
    """``"sgd"``, ``"rmsprop"``, ``"adam"`` (any case), an Optimizer, or its class."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict):
        cls = _NAMES.get(str(identifier.get("class_name", "")).lower())
        if cls is not None:
            return cls(**identifier.get("config", {}))
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Valid names: "
        f"{sorted(_NAMES)} (or an Optimizer instance)."
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


Schedule = Callable[[int], float]

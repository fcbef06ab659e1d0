"""The schedules: ``LearningRateSchedule`` and Keras 3's six, each docstring with its formula
and ``__call__`` computing it one quantity per line in Keras' float32 order (Keras' file of the
same name: ``keras/src/optimizers/schedules/learning_rate_schedule.py``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras.optimizers.schedules.checks import (
    check_number,
    check_numbers,
    check_positive,
    cos32,
    f32,
    log32,
    pow32,
    warn_if,
)


class LearningRateSchedule:
    """Base class: a schedule is called with the step (``iterations``, an integer from 0)
    and returns the learning rate, a float32 number. A subclass writes ``__call__(step)`` and
    ``get_config()`` (its constructor arguments); ``from_config(config)`` is ``cls(**config)``.
    """

    def __call__(self, step: Any) -> Any:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)


def _check_initial(owner: str, value: Any, arg: str = "initial_learning_rate") -> None:
    """A number; an integer is computed as a float here, where Keras computes the whole
    schedule in integers (ExponentialDecay(1, 10, 0.9) is 0 from step 1 there)."""
    check_number(owner, arg, value)
    warn_if(isinstance(value, int | np.integer), owner,
            f"{arg}={value!r} is an integer: Keras computes the schedule in integer "
            f"arithmetic then (its rates round to 0); minikeras computes it in float32. "
            f"Write {float(value)!r}.")
    warn_if(not value >= 0, owner, f"{arg}={value!r} is negative or NaN: the weights would "
            "move up the gradient (or turn NaN).")


class _DecayPerSteps(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: the rate decays by ``decay_rate``
    per ``decay_steps`` steps, at the progress ``p = step / decay_steps`` (``floor(p)`` when
    ``staircase``: the rate then changes in steps)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "") -> None:
        owner = type(self).__name__
        _check_initial(owner, initial_learning_rate)
        check_positive(owner, "decay_steps", decay_steps)
        check_number(owner, "decay_rate", decay_rate)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name or owner

    def progress(self, step: Any) -> np.float32:
        """p = step / decay_steps (floor(p) when staircase), in float32."""
        p = f32(step) / f32(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayPerSteps):
    """The rate multiplied by ``decay_rate`` every ``decay_steps`` steps::

        p = step / decay_steps                  (floor(p) when staircase: a step function)
        lr = initial_learning_rate * decay_rate ** p
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)
        warn_if(not decay_rate > 0, type(self).__name__, f"decay_rate={decay_rate!r} is not "
                "positive: decay_rate ** p is NaN at fractional p (use staircase) or flips "
                "sign.")

    def __call__(self, step: Any) -> np.float32:
        initial_learning_rate, decay_rate = f32(self.initial_learning_rate), f32(self.decay_rate)
        p = self.progress(step)
        return initial_learning_rate * pow32(decay_rate, p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to step ``boundaries[0]`` (included), ``values[1]`` up to
    ``boundaries[1]``, ..., ``values[-1]`` after the last boundary. As in Keras, the value is
    a sum of indicators, one per interval::

        lr = values[0] * [step <= b[0]] + values[-1] * [step > b[-1]]
             + sum over i of values[i] * [b[i-1] < step <= b[i]]

    (unsorted boundaries make intervals overlap and their values add up: warned).
    """

    def __init__(self, boundaries: list[float], values: list[float],
                 name: str = "PiecewiseConstant") -> None:
        owner = type(self).__name__
        check_numbers(owner, "boundaries", boundaries)
        check_numbers(owner, "values", values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{owner}: the length of boundaries should be 1 less than the length of "
                f"values. Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        if not boundaries:   # Keras accepts it, then fails on the first call (IndexError)
            raise ValueError(f"{owner}: argument `boundaries` should hold at least one step "
                             f"(for a constant rate, pass a float). Received: boundaries=[]")
        warn_if(list(boundaries) != sorted(boundaries), owner,
                f"boundaries={boundaries} are not increasing: where intervals overlap, their "
                "values add up (as in Keras).")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step: Any) -> np.float32:
        b, values = self.boundaries, [f32(v) for v in self.values]
        step = float(step)   # compared exactly, as Keras does for an integer step
        first = f32(step <= b[0]) * values[0]
        last = f32(step > b[-1]) * values[-1]
        lr = f32(0) + first + last
        for low, high, value in zip(b[:-1], b[1:], values[1:-1], strict=True):
            lr = lr + f32(low < step <= high) * value
        return lr

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` in ``decay_steps`` steps
    along a polynomial of degree ``power`` (1: a straight line), then constant::

        step = min(step, decay_steps)
        cycle:  decay_steps = decay_steps * ceil(step / decay_steps)   (1 at step 0),
                step not capped: the decay starts again at each multiple of decay_steps
        p = step / decay_steps
        lr = (initial_learning_rate - end_learning_rate) * (1 - p) ** power
             + end_learning_rate
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        owner = type(self).__name__
        _check_initial(owner, initial_learning_rate)
        check_positive(owner, "decay_steps", decay_steps)
        check_number(owner, "end_learning_rate", end_learning_rate)
        check_number(owner, "power", power)
        warn_if(not power >= 0, owner, f"power={power!r} is negative: (1 - p) ** power "
                "grows to infinity at the end of the decay.")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step: Any) -> np.float32:
        initial_learning_rate = f32(self.initial_learning_rate)
        end_learning_rate, power = f32(self.end_learning_rate), f32(self.power)
        step, decay_steps = f32(step), f32(self.decay_steps)
        if self.cycle:
            multiplier = f32(1) if step == 0 else np.ceil(step / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = np.minimum(step, decay_steps)
        p = step / decay_steps
        decayed = pow32(f32(1) - p, power)
        return (initial_learning_rate - end_learning_rate) * decayed + end_learning_rate

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_DecayPerSteps):
    """The rate divided by 1 + decay_rate every ``decay_steps`` steps, as 1/t::

        p = step / decay_steps                  (floor(p) when staircase)
        lr = initial_learning_rate / (1 + decay_rate * p)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)
        warn_if(not decay_rate >= 0, type(self).__name__, f"decay_rate={decay_rate!r} is "
                "negative: 1 + decay_rate * p reaches 0 (an infinite rate), then turns "
                "negative.")

    def __call__(self, step: Any) -> np.float32:
        initial_learning_rate, decay_rate = f32(self.initial_learning_rate), f32(self.decay_rate)
        p = self.progress(step)
        denominator = f32(1) + decay_rate * p
        return initial_learning_rate / denominator


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the rate down to ``alpha`` times it, in ``decay_steps`` steps
    (Loshchilov & Hutter, SGDR), after an optional linear warmup::

        no warmup (warmup_target None):
            step = min(step, decay_steps)
            lr = initial_learning_rate * decayed(step)
        warmup:
            step = min(step, warmup_steps + decay_steps)
            step < warmup_steps:  lr = (warmup_target - initial_learning_rate)
                                       * (step / warmup_steps) + initial_learning_rate
            otherwise:            lr = warmup_target * decayed(step - warmup_steps)
        where
            completed_fraction = step / decay_steps
            cosine_decayed = 0.5 * (1 + cos(pi * completed_fraction))
            decayed = (1 - alpha) * cosine_decayed + alpha
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0) -> None:
        owner = type(self).__name__
        _check_initial(owner, initial_learning_rate)
        check_positive(owner, "decay_steps", decay_steps)
        check_number(owner, "alpha", alpha)
        check_number(owner, "warmup_steps", warmup_steps)
        if warmup_target is not None:
            _check_initial(owner, warmup_target, "warmup_target")
        warn_if(not 0 <= alpha <= 1, owner, f"alpha={alpha!r} is outside [0, 1]: the final "
                "rate, alpha * the rate, is then not between 0 and the rate.")
        warn_if(warmup_steps < 0, owner, f"warmup_steps={warmup_steps!r} is negative: the "
                "decay then starts |warmup_steps| steps in, with no warmup.")
        warn_if(warmup_target is None and warmup_steps != 0, owner,
                f"warmup_steps={warmup_steps!r} is ignored without `warmup_target` (as in "
                "Keras): pass warmup_target=<the rate to warm up to>.")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, step: np.float32, decay_steps: np.float32,
               decay_from: np.float32) -> np.float32:
        completed_fraction = step / decay_steps
        cosine_decayed = f32(0.5) * (f32(1) + cos32(f32(math.pi) * completed_fraction))
        decayed = f32(1 - self.alpha) * cosine_decayed + f32(self.alpha)
        return decay_from * decayed

    def __call__(self, step: Any) -> np.float32:
        initial_learning_rate = f32(self.initial_learning_rate)
        decay_steps, step = f32(self.decay_steps), f32(step)
        if self.warmup_target is None:
            step = np.minimum(step, decay_steps)
            return self._decay(step, decay_steps, initial_learning_rate)
        warmup_target, warmup_steps = f32(self.warmup_target), f32(self.warmup_steps)
        step = np.minimum(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            completed_fraction = step / warmup_steps
            total_step_delta = warmup_target - initial_learning_rate
            return total_step_delta * completed_fraction + initial_learning_rate
        return self._decay(step - warmup_steps, decay_steps, warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay that restarts (SGDR): the i-th period lasts first_decay_steps * t_mul**i
    steps and starts from initial_learning_rate * m_mul**i::

        completed_fraction = step / first_decay_steps       (in first periods)
        t_mul == 1:  i_restart = floor(completed_fraction)
                     completed_fraction = completed_fraction - i_restart
        otherwise:   i_restart = floor(log(1 - completed_fraction * (1 - t_mul)) / log(t_mul))
                     sum_r = (1 - t_mul ** i_restart) / (1 - t_mul)   (periods before it)
                     completed_fraction = (completed_fraction - sum_r) / t_mul ** i_restart
        m_fac = m_mul ** i_restart
        cosine_decayed = 0.5 * m_fac * (1 + cos(pi * completed_fraction))
        decayed = (1 - alpha) * cosine_decayed + alpha
        lr = initial_learning_rate * decayed
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay") -> None:
        owner = type(self).__name__
        _check_initial(owner, initial_learning_rate)
        check_positive(owner, "first_decay_steps", first_decay_steps)
        for arg, value in (("t_mul", t_mul), ("m_mul", m_mul), ("alpha", alpha)):
            check_number(owner, arg, value)
        warn_if(not t_mul >= 1, owner, f"t_mul={t_mul!r} is below 1: the periods shrink, "
                "and past their finite total the rate is NaN.")
        warn_if(not m_mul >= 0, owner, f"m_mul={m_mul!r} is negative: the rate flips sign "
                "at every restart.")
        warn_if(not 0 <= alpha <= 1, owner, f"alpha={alpha!r} is outside [0, 1]: the final "
                "rate, alpha * the rate, is then not between 0 and the rate.")
        self.initial_learning_rate, self.first_decay_steps = (initial_learning_rate,
                                                              first_decay_steps)
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step: Any) -> np.float32:
        initial_learning_rate = f32(self.initial_learning_rate)
        first_decay_steps, alpha = f32(self.first_decay_steps), f32(self.alpha)
        t_mul, m_mul = f32(self._t_mul), f32(self._m_mul)
        step = f32(step)
        completed_fraction = step / first_decay_steps
        if t_mul == 1:
            i_restart = np.floor(completed_fraction)
            completed_fraction = completed_fraction - i_restart
        else:
            with np.errstate(invalid="ignore", divide="ignore"):  # NaN past t_mul < 1's end
                i_restart = np.floor(
                    log32(f32(1) - completed_fraction * (f32(1) - t_mul)) / log32(t_mul))
                sum_r = (f32(1) - pow32(t_mul, i_restart)) / (f32(1) - t_mul)
                completed_fraction = (completed_fraction - sum_r) / pow32(t_mul, i_restart)
        m_fac = pow32(m_mul, i_restart)
        cosine_decayed = f32(0.5) * m_fac * (f32(1) + cos32(f32(math.pi) * completed_fraction))
        decayed = (f32(1) - alpha) * cosine_decayed + alpha
        return initial_learning_rate * decayed

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}

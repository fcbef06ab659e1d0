"""Learning-rate schedules (``minikeras.optimizers.schedules``) without TensorFlow.

* each schedule's value at many steps against a float64 plain-Python evaluation of its
  docstring's formula (float32 rounding only: 2e-6 relative to the schedule's scale);
* the float32 helpers ``cos32``/``log32``/``pow32`` are the exact value rounded once;
* refused arguments (an error naming the argument, the expectation and the value), warned
  ones (Keras accepts them silently), config and ``serialize``/``deserialize`` round trips;
* optimizers with a schedule: the rate at ``iterations``, steps that use it, no settable rate,
  no learning-rate variable, ``get_config``/``from_config``, ``.keras``/``.h5``/weights files;
* ``keras.optimizers.schedules`` under ``minikeras.as_keras``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

import minikeras as mk
from minikeras.optimizers import schedules as S
from minikeras.variable import Variable

STEPS = list(range(0, 120)) + [199, 200, 201, 1000, 12345]


# --------------------------------------------------------------------------- references
def ref_exponential(step: int, lr: float, decay_steps: float, rate: float,
                    staircase: bool = False) -> float:
    p = step / decay_steps
    return lr * rate ** (math.floor(p) if staircase else p)


def ref_piecewise(step: int, boundaries: list, values: list) -> float:
    for b, v in zip(boundaries, values, strict=False):
        if step <= b:
            return v
    return values[-1]


def ref_polynomial(step: int, lr: float, decay_steps: float, end: float = 1e-4,
                   power: float = 1.0, cycle: bool = False) -> float:
    if cycle:
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr - end) * (1 - step / decay_steps) ** power + end


def ref_inverse_time(step: int, lr: float, decay_steps: float, rate: float,
                     staircase: bool = False) -> float:
    p = step / decay_steps
    return lr / (1 + rate * (math.floor(p) if staircase else p))


def ref_cosine(step: int, lr: float, decay_steps: float, alpha: float = 0.0,
               warmup_target: float | None = None, warmup_steps: float = 0) -> float:
    def decayed(s: float, start: float) -> float:
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)
    if warmup_target is None:
        return decayed(min(step, decay_steps), lr)
    step = min(step, warmup_steps + decay_steps)
    if step < warmup_steps:
        return lr + (warmup_target - lr) * step / warmup_steps
    return decayed(step - warmup_steps, warmup_target)


def ref_restarts(step: int, lr: float, first: float, t_mul: float = 2.0, m_mul: float = 1.0,
                 alpha: float = 0.0) -> float:
    """Walk the periods one by one (no closed form: a different route to the same value)."""
    start, length, i = 0.0, float(first), 0
    while step >= start + length:
        start, length, i = start + length, length * t_mul, i + 1
    fraction = (step - start) / length
    return lr * ((1 - alpha) * m_mul**i * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha)


REFERENCE_CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
     lambda s: ref_exponential(s, 0.1, 10, 0.9)),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                          "staircase": True}, lambda s: ref_exponential(s, 0.1, 7, 0.5, True)),
    ("PiecewiseConstantDecay", {"boundaries": [10, 50, 100], "values": [1.0, 0.5, 0.1, 0.01]},
     lambda s: ref_piecewise(s, [10, 50, 100], [1.0, 0.5, 0.1, 0.01])),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 50},
     lambda s: ref_polynomial(s, 0.1, 50)),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30,
                         "end_learning_rate": 0.01, "power": 2.0, "cycle": True},
     lambda s: ref_polynomial(s, 0.1, 30, 0.01, 2.0, True)),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
     lambda s: ref_inverse_time(s, 0.1, 5, 0.5)),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 1.0,
                          "staircase": True}, lambda s: ref_inverse_time(s, 0.1, 4, 1.0, True)),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 60, "alpha": 0.1},
     lambda s: ref_cosine(s, 0.1, 60, 0.1)),
    ("CosineDecay", {"initial_learning_rate": 0.001, "decay_steps": 80, "warmup_target": 0.1,
                     "warmup_steps": 20}, lambda s: ref_cosine(s, 0.001, 80, 0.0, 0.1, 20)),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 10},
     lambda s: ref_restarts(s, 0.1, 10)),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 7,
                             "t_mul": 1.0, "m_mul": 0.8, "alpha": 0.1},
     lambda s: ref_restarts(s, 0.1, 7, 1.0, 0.8, 0.1)),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4,
                             "t_mul": 3.0, "m_mul": 0.5},
     lambda s: ref_restarts(s, 0.1, 4, 3.0, 0.5)),
]


@pytest.mark.parametrize("name,kwargs,ref", REFERENCE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(REFERENCE_CASES)])
def test_values_follow_the_formula(name: str, kwargs: dict, ref: Any) -> None:
    schedule = getattr(S, name)(**kwargs)
    got = [schedule(s) for s in STEPS]
    assert all(isinstance(v, np.float32) for v in got)
    expected = np.array([ref(s) for s in STEPS])
    scale = max(abs(v) for v in expected)
    # at a restart boundary float32 may land on either side: compare away from them
    np.testing.assert_allclose(np.array(got, dtype=np.float64), expected, rtol=0,
                               atol=2e-6 * scale)


def test_step_boundaries() -> None:
    piecewise = S.PiecewiseConstantDecay([10, 20], [0.3, 0.2, 0.1])
    assert [float(piecewise(s)) for s in (10, 11, 20, 21)] == [
        float(np.float32(v)) for v in (0.3, 0.2, 0.2, 0.1)]
    stair = S.ExponentialDecay(1.0, 5, 0.5, staircase=True)
    assert [float(stair(s)) for s in (4, 5, 9, 10)] == [1.0, 0.5, 0.5, 0.25]
    warm = S.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    assert [float(warm(s)) for s in (0, 2, 4, 14, 100)] == [0.0, 0.5, 1.0, 0.0, 0.0]
    restarts = S.CosineDecayRestarts(1.0, 10, t_mul=2.0)
    assert [float(restarts(s)) for s in (0, 10, 30, 70)] == [1.0, 1.0, 1.0, 1.0]
    cyc = S.PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    assert [float(cyc(s)) for s in (0, 10, 11, 20)] == [1.0, 0.0, float(np.float32(0.45)), 0.0]


def test_float32_helpers_round_the_exact_value_once() -> None:
    x = np.float32(2.3456)
    assert S.cos32(x) == np.float32(math.cos(float(x)))
    assert S.log32(x) == np.float32(math.log(float(x)))
    assert S.pow32(x, np.float32(3.7)) == np.float32(float(x) ** float(np.float32(3.7)))
    assert np.isnan(S.log32(np.float32(-1.0)))


def test_cosine_decay_rounds_one_minus_alpha_once() -> None:
    """Keras writes (1 - self.alpha) with Python floats: one rounding, not float32 1 - alpha."""
    alpha = 0.1
    schedule = S.CosineDecay(1.0, 4, alpha=alpha)
    cosine = np.float32(0.5) * (np.float32(1) + S.cos32(np.float32(math.pi) * np.float32(0.25)))
    assert schedule(1) == np.float32(1 - alpha) * cosine + np.float32(alpha)


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("make,kind,expect", [
    (lambda: S.ExponentialDecay(0.1, 0, 0.9), ValueError, ("decay_steps", "> 0", "=0")),
    (lambda: S.PolynomialDecay(0.1, -5), ValueError, ("decay_steps", "> 0", "=-5")),
    (lambda: S.InverseTimeDecay(0.1, 0, 0.5), ValueError, ("decay_steps", "> 0", "=0")),
    (lambda: S.CosineDecay(0.1, 0), ValueError, ("decay_steps", "> 0", "=0")),
    (lambda: S.CosineDecayRestarts(0.1, 0), ValueError, ("first_decay_steps", "> 0", "=0")),
    (lambda: S.PiecewiseConstantDecay([10, 20], [1.0, 2.0]), ValueError,
     ("boundaries", "values", "length 2")),
    (lambda: S.PiecewiseConstantDecay([], [1.0]), ValueError, ("boundaries", "at least one")),
    (lambda: S.PiecewiseConstantDecay(10, [1.0, 2.0]), TypeError, ("boundaries", "list", "10")),
    (lambda: S.ExponentialDecay("a", 10, 0.9), TypeError,
     ("initial_learning_rate", "number", "'a'")),
    (lambda: S.ExponentialDecay(0.1, "10", 0.9), TypeError, ("decay_steps", "number", "'10'")),
    (lambda: S.CosineDecay(0.1, 10, warmup_target="x"), TypeError,
     ("warmup_target", "number", "'x'")),
])
def test_bad_arguments_are_refused(make: Any, kind: type, expect: tuple) -> None:
    with pytest.raises(kind) as info:
        make()
    for part in expect:
        assert part.lower() in str(info.value).lower(), (part, str(info.value))


@pytest.mark.parametrize("make,expect", [
    (lambda: S.ExponentialDecay(1, 10, 0.9), ("initial_learning_rate=1", "integer")),
    (lambda: S.ExponentialDecay(0.1, 10, -0.5), ("decay_rate=-0.5", "nan")),
    (lambda: S.ExponentialDecay(-0.1, 10, 0.5), ("initial_learning_rate=-0.1", "negative")),
    (lambda: S.PiecewiseConstantDecay([20, 10], [1.0, 2.0, 3.0]), ("not increasing",)),
    (lambda: S.PolynomialDecay(0.1, 10, power=-1.0), ("power=-1.0", "negative")),
    (lambda: S.InverseTimeDecay(0.1, 10, -0.5), ("decay_rate=-0.5", "negative")),
    (lambda: S.CosineDecay(0.1, 10, warmup_steps=5), ("warmup_steps=5", "warmup_target")),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=1.0, warmup_steps=-3),
     ("warmup_steps=-3", "negative")),
    (lambda: S.CosineDecay(0.1, 10, alpha=2.0), ("alpha=2.0", "[0, 1]")),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.5), ("t_mul=0.5", "nan")),
    (lambda: S.CosineDecayRestarts(0.1, 10, m_mul=-1.0), ("m_mul=-1.0", "sign")),
])
def test_likely_mistakes_are_accepted_with_a_warning(make: Any, expect: tuple) -> None:
    with pytest.warns(UserWarning) as record:
        make()
    message = str(record[0].message)
    assert record[0].filename == __file__   # points at the caller's line
    for part in expect:
        assert part.lower() in message.lower(), (part, message)


def test_integer_learning_rate_is_computed_in_float() -> None:
    with pytest.warns(UserWarning):
        schedule = S.ExponentialDecay(1, 10, 0.5)
    assert schedule(10) == np.float32(0.5)   # Keras: 0 (0.5 truncated to an integer)


# --------------------------------------------------------------------------- config
ALL = [S.ExponentialDecay(0.1, 10, 0.9, staircase=True, name="e"),
       S.PiecewiseConstantDecay([5, 10], [0.3, 0.2, 0.1]),
       S.PolynomialDecay(0.1, 20, end_learning_rate=0.001, power=0.5, cycle=True),
       S.InverseTimeDecay(0.1, 3, 0.25),
       S.CosineDecay(0.01, 40, alpha=0.1, warmup_target=0.1, warmup_steps=5),
       S.CosineDecayRestarts(0.1, 8, t_mul=1.5, m_mul=0.7, alpha=0.05)]


@pytest.mark.parametrize("schedule", ALL, ids=[type(s).__name__ for s in ALL])
def test_config_round_trips(schedule: Any) -> None:
    again = type(schedule).from_config(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    data = S.serialize(schedule)
    assert data == {"module": "keras.optimizers.schedules",
                    "class_name": type(schedule).__name__, "config": schedule.get_config(),
                    "registered_name": None}
    back = S.deserialize(data)
    assert type(back) is type(schedule) and back.get_config() == schedule.get_config()
    assert [back(s) for s in (0, 7, 33)] == [schedule(s) for s in (0, 7, 33)]


def test_numpy_numbers_serialize_as_python_numbers() -> None:
    """As Keras does: np.float32(0.1) is written 0.10000000149011612, and JSON can hold it."""
    data = S.serialize(S.PiecewiseConstantDecay([np.int64(10)], [np.float32(0.1), 0.05]))
    assert data["config"]["boundaries"] == [10] and data["config"]["values"] == [
        0.10000000149011612, 0.05]
    assert all(type(v) in (int, float) for v in data["config"]["values"]
               + data["config"]["boundaries"])


def test_keras_config_keys_and_defaults() -> None:
    assert S.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay",
        "warmup_target": None, "warmup_steps": 0}
    assert S.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0,
        "alpha": 0.0, "name": "SGDRDecay"}
    assert S.PolynomialDecay(0.1, 10).get_config()["end_learning_rate"] == 0.0001
    assert S.PiecewiseConstantDecay([1], [1.0, 2.0]).get_config()["name"] == "PiecewiseConstant"


class HalvingSchedule(S.LearningRateSchedule):
    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, step: Any) -> np.float32:
        return np.float32(self.start) / np.float32(2) ** np.float32(step)

    def get_config(self) -> dict[str, Any]:
        return {"start": self.start}


def test_custom_schedule_round_trips_with_custom_objects() -> None:
    data = S.serialize(HalvingSchedule(0.4))
    assert data["class_name"] == data["registered_name"] == "HalvingSchedule"
    with pytest.raises(ValueError, match="custom_objects"):
        S.deserialize(data)
    back = S.deserialize(data, custom_objects={"HalvingSchedule": HalvingSchedule})
    assert back(2) == np.float32(0.1)
    with pytest.raises(NotImplementedError, match="__call__"):
        S.LearningRateSchedule()(0)


# --------------------------------------------------------------------------- optimizers
def test_optimizer_reads_the_schedule_at_iterations() -> None:
    schedule = S.ExponentialDecay(0.5, 2, 0.5)
    opt = mk.optimizers.SGD(learning_rate=schedule)
    w = Variable(np.ones(3, np.float32), "w")
    seen = []
    for _ in range(4):
        seen.append(opt.learning_rate)
        before = w.numpy().copy()
        opt.apply([np.ones(3, np.float32)], [w])
        assert np.all(w.numpy() == before - np.float32(seen[-1]))   # w - lr * g, g = 1
    assert seen == [float(schedule(i)) for i in range(4)]
    assert len(opt.variables) == 1 and int(opt.variables[0]) == 4   # no learning-rate variable


def test_optimizer_rate_is_not_settable_with_a_schedule() -> None:
    opt = mk.optimizers.Adam(S.CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt.learning_rate = S.ExponentialDecay(0.2, 10, 0.5)   # a schedule replaces a schedule
    assert opt.learning_rate == float(np.float32(0.2))
    plain = mk.optimizers.Adam(0.01)
    plain.learning_rate = S.PolynomialDecay(0.3, 10)
    assert plain.learning_rate == float(np.float32(0.3)) and len(plain.variables) == 1
    plain2 = mk.optimizers.Adam(0.01)
    plain2.learning_rate = 0.02   # a float stays settable
    assert plain2.learning_rate == float(np.float32(0.02)) and len(plain2.variables) == 2


def test_optimizer_config_stores_the_schedule() -> None:
    schedule = S.CosineDecay(1e-3, 100, warmup_target=1e-2, warmup_steps=10)
    opt = mk.optimizers.Adam(learning_rate=schedule)
    config = opt.get_config()
    assert config["learning_rate"] == S.serialize(schedule)
    again = mk.optimizers.Adam.from_config(config)
    assert isinstance(again._learning_rate, S.CosineDecay)
    assert again._learning_rate.get_config() == schedule.get_config()
    via_get = mk.optimizers.get(mk.optimizers.serialize(opt))
    assert via_get._learning_rate.get_config() == schedule.get_config()
    custom = mk.optimizers.SGD(HalvingSchedule(0.8)).get_config()
    back = mk.optimizers.SGD.from_config(custom, custom_objects={"HalvingSchedule":
                                                                 HalvingSchedule})
    assert back.learning_rate == float(np.float32(0.8))


def _model(seed: int = 0) -> Any:
    mk.utils.set_random_seed(seed)
    model = mk.Sequential([mk.Input((4,)), mk.layers.Dense(3, activation="tanh"),
                           mk.layers.Dense(2)])
    model.compile(mk.optimizers.Adam(S.ExponentialDecay(0.05, 2, 0.5, staircase=True)), "mse")
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_saved_models_keep_the_schedule_and_the_step(tmp_path: Any, suffix: str) -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 4)).astype("float32"), rng.standard_normal((8, 2))
    model = _model()
    for _ in range(3):
        model.train_on_batch(x, y)
    path = str(tmp_path / f"m{suffix}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if suffix == ".weights.h5":
            model.save_weights(path)
            loaded = _model(seed=1)
            loaded.train_on_batch(x, y)   # optimizer built, then overwritten by the file
            loaded.load_weights(path)
        else:
            model.save(path)
            loaded = mk.models.load_model(path)
    assert isinstance(loaded.optimizer._learning_rate, S.ExponentialDecay)
    assert loaded.optimizer._learning_rate.get_config() == \
        model.optimizer._learning_rate.get_config()
    assert loaded.optimizer.iterations == 3
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate == float(
        np.float32(0.025))
    assert float(loaded.train_on_batch(x, y)) == float(model.train_on_batch(x, y))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_lr_callbacks_meet_keras_refusal() -> None:
    model = _model()
    x, y = np.ones((4, 4), np.float32), np.ones((4, 2), np.float32)
    cb = mk.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    with pytest.raises(TypeError, match="not settable"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert model.optimizer.iterations == 0


def test_keras_optimizers_schedules_under_as_keras() -> None:
    from minikeras import as_keras

    with as_keras.installed() as keras:
        from keras.optimizers.schedules import ExponentialDecay  # type: ignore[import-not-found]

        assert keras.optimizers.schedules.ExponentialDecay is ExponentialDecay is \
            S.ExponentialDecay
        opt = keras.optimizers.Adam(learning_rate=ExponentialDecay(1e-3, 1000, 0.96))
        assert opt.learning_rate == float(np.float32(1e-3))


def test_plain_callable_rate_takes_no_arguments_as_in_keras() -> None:
    """Keras 3 calls a plain callable ``learning_rate()`` (only a LearningRateSchedule gets
    the step): it is read at every step, and one that needs an argument is refused at once."""
    rate = {"now": 0.5}
    opt = mk.optimizers.SGD(learning_rate=lambda: rate["now"])
    var = Variable(np.ones(3, np.float32), name="w")
    opt.apply([np.ones(3, np.float32)], [var])          # w = 1 - 0.5
    rate["now"] = 0.25
    opt.apply([np.ones(3, np.float32)], [var])          # w = 0.5 - 0.25
    np.testing.assert_array_equal(var.value, np.full(3, 0.25, np.float32))
    assert opt.learning_rate == 0.25 and len(opt.variables) == 1   # no rate variable, as Keras
    with pytest.raises(mk.optimizers.LearningRateTypeError, match=r"no arguments.*\(step\)"):
        mk.optimizers.Adam(learning_rate=lambda step: 0.1 * 0.5 ** step)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = lambda step: 0.1
    assert opt.learning_rate == 0.25   # the refused setting changed nothing

"""The optimizers' moving average of the weights (``use_ema``, ``optimizers/ema.py``): the
formula against a plain float64 reference, the overwrite every N steps, ``fit``'s
finalization, the arguments' checks, the config, the state's order and saving."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

import minikeras as mk
from minikeras import optimizers
from minikeras.variable import Variable

F = np.float32
ALL = ["SGD", "RMSprop", "Adam", "Adadelta", "Adagrad", "Adamax", "Nadam", "AdamW"]
SHAPES = ((4, 3), (3,))


def _grads(steps: int, seed: int = 0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(F) for s in SHAPES] for _ in range(steps)]


def _variables(seed: int = 1) -> list[Variable]:
    rng = np.random.default_rng(seed)
    return [Variable(rng.standard_normal(s).astype(F), f"dense/w{i}")
            for i, s in enumerate(SHAPES)]


def _run(cls: str, grads: list, **kwargs) -> tuple[list, list, optimizers.Optimizer]:
    """Apply ``grads``; the weights after each step, the final averages, the optimizer."""
    variables = _variables()
    opt = getattr(optimizers, cls)(learning_rate=1.0 if cls == "Adadelta" else 0.05, **kwargs)
    path = []
    for g in grads:
        opt.apply([x.copy() for x in g], variables)
        path.append([v.value.copy() for v in variables])
    averages = [a.copy() for a in opt._model_variables_moving_average] if opt.use_ema else []
    return path, averages, opt


def _reference_average(path: list[list[np.ndarray]], momentum: float) -> list[np.ndarray]:
    """The plain float64 recurrence: a₁ = w₁, then aₜ = μ·aₜ₋₁ + (1 - μ)·wₜ."""
    average = [w.astype(np.float64) for w in path[0]]
    for weights in path[1:]:
        average = [momentum * a + (1 - momentum) * w.astype(np.float64)
                   for a, w in zip(average, weights, strict=True)]
    return average


# ------------------------------------------------------------------ the formula
@pytest.mark.parametrize("cls", ALL)
def test_average_follows_the_float64_recurrence_and_leaves_the_weights_alone(cls: str) -> None:
    grads = _grads(12, seed=len(cls))
    plain, _, _ = _run(cls, grads)
    path, averages, _ = _run(cls, grads, use_ema=True, ema_momentum=0.8)
    for a, b in zip(path[-1], plain[-1], strict=True):   # no overwrite: the same weights
        np.testing.assert_array_equal(a, b)
    for a, ref in zip(averages, _reference_average(path, 0.8), strict=True):
        assert a.dtype == F
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)
    moved = max(float(np.abs(a - w).max()) for a, w in zip(averages, path[-1], strict=True))
    assert moved > 1e-3   # the average lags the weights: the test can fail


def test_first_step_copies_the_weights_and_rounding_is_keras_float32() -> None:
    grads = _grads(3)
    path, _, opt = _run("SGD", grads[:1], use_ema=True)
    for a, w in zip(opt._model_variables_moving_average, path[0], strict=True):
        np.testing.assert_array_equal(a, w)
    # second step, in float32 and Keras' order: 1 - momentum is a float32 subtraction
    variables = _variables()
    opt = optimizers.SGD(learning_rate=0.05, use_ema=True, ema_momentum=0.99)
    opt.apply(grads[0], variables)
    before = [a.copy() for a in opt._model_variables_moving_average]
    opt.apply(grads[1], variables)
    momentum = F(0.99)
    for a, a0, v in zip(opt._model_variables_moving_average, before, variables, strict=True):
        np.testing.assert_array_equal(a, momentum * a0 + (F(1) - momentum) * v.value)
    assert F(1) - momentum != F(1 - 0.99)   # the two roundings differ: the test can fail


class _Seen(optimizers.Adam):
    """Adam that records each step's updated weights (what the average sees)."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        super()._backend_update_step(grads, trainable_variables, learning_rate)
        self.seen = [v.value.astype(np.float64) for v in trainable_variables]


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_overwrite_every_n_steps_follows_the_reference(momentum: float) -> None:
    variables = _variables()
    opt = _Seen(learning_rate=0.05, use_ema=True, ema_momentum=momentum,
                ema_overwrite_frequency=3)
    reference: list[np.ndarray] = []
    for step, g in enumerate(_grads(9, seed=3), start=1):
        opt.apply([x.copy() for x in g], variables)
        reference = opt.seen if step == 1 else [
            momentum * r + (1 - momentum) * s for r, s in zip(reference, opt.seen, strict=True)]
        averages = opt._model_variables_moving_average
        for a, r in zip(averages, reference, strict=True):
            np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)
        equal = all(np.array_equal(v.value, a) for v, a in zip(variables, averages, strict=True))
        assert equal == (step % 3 == 0 or step == 1 or momentum == 0.0), step
        if step % 3 == 0:   # the overwrite replaced the updated weights: they had moved
            assert any(not np.allclose(v.value, s) for v, s in zip(variables, opt.seen,
                                                                     strict=True)) or not momentum
        assert opt.iterations == step


def test_a_failing_apply_changes_nothing_the_averages_included() -> None:
    variables = _variables()
    opt = optimizers.RMSprop(learning_rate=0.05, use_ema=True, ema_overwrite_frequency=1)
    opt.apply(_grads(1)[0], variables)
    state = [np.array(v, copy=True) for v in opt.variables]
    weights = [v.value.copy() for v in variables]
    with pytest.raises(ValueError, match="shape"):
        opt.apply([np.ones((4, 3), F), np.ones((2,), F)], variables)
    for a, b in zip(opt.variables, state, strict=True):
        np.testing.assert_array_equal(a, b)
    for v, w in zip(variables, weights, strict=True):
        np.testing.assert_array_equal(v.value, w)


# ------------------------------------------------------------------ fit / train_on_batch
def _model(optimizer: optimizers.Optimizer) -> mk.Sequential:
    mk.utils.set_random_seed(0)
    model = mk.Sequential([mk.Input((4,)), mk.layers.Dense(5, activation="tanh"),
                           mk.layers.Dense(2)])
    model.compile(optimizer, "mse")
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.standard_normal((16, 4)).astype(F), rng.standard_normal((16, 2)).astype(F)


def test_fit_ends_with_the_averages_and_train_on_batch_does_not() -> None:
    x, y = _data()
    seen = []

    class Watch(mk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self._same())

        def on_train_end(self, logs=None):
            seen.append(self._same())

        def _same(self):
            opt = self.model.optimizer
            return all(np.array_equal(w.value, opt._model_variables_moving_average[i])
                       for i, w in enumerate(self.model.trainable_weights))

    model = _model(optimizers.Adam(0.05, use_ema=True))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[Watch()])
    assert seen == [False, False, True]   # swapped in after the last epoch, before train end
    model = _model(optimizers.Adam(0.05, use_ema=True))
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    averages = model.optimizer._model_variables_moving_average
    assert not any(np.array_equal(w.value, a) for w, a in zip(model.trainable_weights, averages,
                                                              strict=True))
    model.optimizer.finalize_variable_values(model.trainable_weights)
    for w, a in zip(model.trainable_weights, averages, strict=True):
        np.testing.assert_array_equal(w.value, a)


def test_finalize_without_ema_or_without_training_changes_nothing() -> None:
    x, y = _data()
    model = _model(optimizers.SGD(0.1))
    model.train_on_batch(x, y)
    weights = model.get_weights()
    model.optimizer.finalize_variable_values(model.trainable_weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, epochs=1, initial_epoch=1, verbose=0)
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # Keras raises AttributeError here (parity_report.md); nothing was trained: nothing changes
    model = _model(optimizers.SGD(0.1, use_ema=True))
    weights = model.get_weights()
    with pytest.warns(UserWarning, match="no training"):
        model.fit(x, y, epochs=1, initial_epoch=1, verbose=0)
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ arguments and config
@pytest.mark.parametrize("kwargs,error,words", [
    ({"use_ema": True, "ema_momentum": 1.5}, ValueError, ("ema_momentum", "[0, 1]", "1.5")),
    ({"use_ema": True, "ema_momentum": -0.1}, ValueError, ("ema_momentum", "[0, 1]", "-0.1")),
    ({"use_ema": True, "ema_momentum": "0.9"}, TypeError, ("ema_momentum", "float", "'0.9'")),
    ({"use_ema": True, "ema_momentum": None}, TypeError, ("ema_momentum", "float", "None")),
    ({"use_ema": True, "ema_overwrite_frequency": 2.0}, ValueError,
     ("ema_overwrite_frequency", "integer >= 1", "2.0")),
    ({"use_ema": True, "ema_overwrite_frequency": -1}, ValueError,
     ("ema_overwrite_frequency", "integer >= 1", "-1")),
    ({"use_ema": True, "ema_overwrite_frequency": "3"}, ValueError,
     ("ema_overwrite_frequency", "integer >= 1", "'3'")),
    ({"use_ema": np.array([True, False])}, TypeError, ("use_ema", "bool", "ndarray")),
])
def test_refusals_name_the_argument(kwargs: dict, error: type, words: tuple) -> None:
    for cls in ("SGD", "AdamW"):
        with pytest.raises(error) as info:
            getattr(optimizers, cls)(**kwargs)
        message = str(info.value)
        assert all(w in message for w in (cls, *words)), message


@pytest.mark.parametrize("kwargs,words", [
    ({"use_ema": True, "ema_momentum": float("nan")}, ("ema_momentum=nan", "NaN")),
    ({"use_ema": True, "ema_momentum": 1.0}, ("ema_momentum=1", "never moves")),
    ({"use_ema": True, "ema_overwrite_frequency": 0}, ("ema_overwrite_frequency=0", "None")),
    ({"use_ema": True, "ema_overwrite_frequency": True}, ("=True", "every step")),
    ({"ema_momentum": 0.9}, ("ema_momentum=0.9", "ignored", "use_ema=True")),
    ({"use_ema": False, "ema_overwrite_frequency": -3}, ("ema_overwrite_frequency=-3",
                                                         "ignored")),
    ({"use_ema": "no"}, ("use_ema='no'", "not a bool", "use_ema=True")),
    ({"ema_momentum": np.array([0.9])}, ("ema_momentum=array([0.9])", "ignored")),
])
def test_likely_mistakes_keras_accepts_are_accepted_with_a_warning(kwargs: dict,
                                                                   words: tuple) -> None:
    with pytest.warns(UserWarning) as caught:
        opt = optimizers.Adam(**kwargs)
    messages = [str(w.message) for w in caught]
    assert any(all(word in m for word in words) for m in messages), messages
    assert caught[0].filename == __file__   # points at the caller's line
    assert opt.get_config()["use_ema"] is kwargs.get("use_ema", False)   # stored as given


def test_accepted_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kwargs in ({"use_ema": True}, {"use_ema": True, "ema_momentum": 0.0},
                       {"use_ema": True, "ema_momentum": np.float32(0.9)},
                       {"use_ema": True, "ema_overwrite_frequency": np.int64(3)},
                       {"use_ema": 1}, {"use_ema": None}, {"use_ema": False},
                       {"use_ema": np.True_}):
            optimizers.Nadam(**kwargs)


@pytest.mark.parametrize("cls", ALL)
def test_config_keys_in_keras_order_and_round_trip(cls: str) -> None:
    opt = getattr(optimizers, cls)(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=4)
    config = opt.get_config()
    keys = list(config)
    assert keys[:9] == ["name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm",
                        "clipvalue", "use_ema", "ema_momentum", "ema_overwrite_frequency"]
    again = type(opt).from_config(config)
    assert again.get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).ema_overwrite_frequency == 4


# ------------------------------------------------------------------ state and saving
def test_variables_put_the_averages_first_as_keras() -> None:
    variables = _variables()
    opt = optimizers.Nadam(use_ema=True)
    opt.apply(_grads(1)[0], variables)
    shapes = [tuple(np.shape(v)) for v in opt.variables]
    # iterations, learning_rate, average of each weight, (momentum, velocity) of each, u_product
    assert shapes == [(), (), (4, 3), (3,), (4, 3), (4, 3), (3,), (3,), ()]
    assert opt.variables[2] is opt._model_variables_moving_average[0]


def _trained(path_kind: str, tmp_path) -> tuple[mk.Sequential, str]:
    x, y = _data()
    model = _model(optimizers.Adam(0.05, use_ema=True, ema_overwrite_frequency=3))
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    path = str(tmp_path / f"m{path_kind}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # legacy .h5 warns
        if path_kind == ".weights.h5":
            model.save_weights(path)
        else:
            model.save(path)
    return model, path


@pytest.mark.parametrize("kind", [".weights.h5", ".keras", ".h5"])
def test_saving_round_trip_keeps_the_averages(kind: str, tmp_path) -> None:
    model, path = _trained(kind, tmp_path)
    if kind == ".weights.h5":
        loaded = _model(optimizers.Adam(0.05, use_ema=True, ema_overwrite_frequency=3))
        loaded.optimizer.build(loaded.trainable_weights)   # else skipped, as in Keras
        loaded.load_weights(path)
    else:
        loaded = mk.models.load_model(path)
    opt = loaded.optimizer
    assert (opt.use_ema, opt.ema_overwrite_frequency, opt.iterations) == (True, 3, 2)
    for a, b in zip(opt.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a, b)
    x, y = _data()
    for m in (model, loaded):
        m.train_on_batch(x, y)   # step 3 overwrites the weights with the averages
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    if kind == ".h5":
        with h5py.File(path, "r") as f:
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in f["optimizer_weights"].attrs["weight_names"]]
        assert [n.rsplit("_", 1)[-1] for n in names[2:6]] == ["average"] * 4, names

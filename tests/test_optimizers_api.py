"""The optimizers' contract around their formulas: what ``update_step`` sees during training,
the slot lists, constructor checks, bad gradients, serialization and saved state, and the Keras
2 defaults that ``minikeras.as_keras`` gives old scripts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minikeras as mk
from minikeras import as_keras, optimizers
from minikeras.variable import Variable

F = np.float32
ALL = ["SGD", "RMSprop", "Adam", "Adadelta", "Adagrad", "Adamax", "Nadam", "AdamW"]


def _mlp(optimizer) -> mk.Sequential:
    model = mk.Sequential([mk.Input((4,)), mk.layers.Dense(5, activation="tanh"),
                           mk.layers.Dense(2)])
    model.compile(optimizer, "mse")
    return model


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 4)).astype(F), rng.standard_normal((16, 2)).astype(F)


# ------------------------------------------------------------------ the learner's view
def test_update_step_sees_the_layers_own_weights_and_gradients() -> None:
    seen = []

    class Watched(optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            seen.append((variable.name, gradient.shape, variable))
            super().update_step(gradient, variable, learning_rate)

    model = _mlp(Watched(learning_rate=0.01))
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    names = [name for name, _, _ in seen]
    dense = model.layers[0]
    assert names[:4] == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    assert len(seen) == 8  # two batches, four weights each: each weight on its own
    assert seen[0][1] == (4, 5) and seen[0][2] is dense.kernel
    # the optimizer's state is one array per weight, in Keras 3's lists
    opt = model.optimizer
    assert len(opt._momentums) == len(opt._velocities) == 4
    assert opt._momentums[opt._get_variable_index(dense.kernel)].shape == (4, 5)


@pytest.mark.parametrize("name,lists", [
    ("SGD", ["momentums"]), ("RMSprop", ["_velocities", "_momentums", "_average_gradients"]),
    ("Adam", ["_momentums", "_velocities", "_velocity_hats"]),
    ("Adadelta", ["_accumulated_grads", "_accumulated_delta_vars"]),
    ("Adagrad", ["_accumulators"]), ("Adamax", ["_m", "_u"]),
    ("Nadam", ["_momentums", "_velocities"]), ("AdamW", ["_momentums", "_velocities"]),
])
def test_slot_lists_documented_in_each_docstring(name: str, lists: list[str]) -> None:
    extra = {"SGD": {"momentum": 0.5}, "RMSprop": {"momentum": 0.5, "centered": True},
             "Adam": {"amsgrad": True}}.get(name, {})
    opt = getattr(optimizers, name)(**extra)
    a, b = Variable(np.ones((2, 3), F), "a"), Variable(np.ones(3, F), "b")
    opt.apply([np.ones((2, 3), F), np.ones(3, F)], [a, b])
    for attr in lists:
        assert attr in (type(opt).__doc__ or "") or attr in (optimizers.Adam.__doc__ or "")
        slots = getattr(opt, attr)
        assert [s.shape for s in slots] == [(2, 3), (3,)], attr
    # saved state: iterations, learning rate, then every slot array (+ Nadam's u_product)
    assert len(opt.variables) == 2 + 2 * len(opt._slot_names) + (name == "Nadam")


def test_weights_seen_later_get_their_own_state() -> None:
    a, b = Variable(np.ones(2, F), "a"), Variable(np.ones(3, F), "b")
    opt = optimizers.Adam()
    opt.apply([np.ones(2, F)], [a])
    opt.apply([np.ones(2, F), np.ones(3, F)], [a, b])
    assert [m.shape for m in opt._momentums] == [(2,), (3,)]
    assert float(opt._momentums[1][0]) == pytest.approx(0.1)  # one step for b


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")])
def test_suspicious_learning_rate_accepted_with_a_warning(lr: float) -> None:
    with pytest.warns(UserWarning, match=repr(lr).replace("(", r"\(")):
        opt = optimizers.Adagrad(learning_rate=lr)
    assert opt.get_config()["learning_rate"] == pytest.approx(lr, nan_ok=True)


@pytest.mark.parametrize("lr", ["0.1", None, [0.1], True])
def test_non_numeric_learning_rate_is_a_type_error(lr) -> None:
    with pytest.raises(TypeError, match="`learning_rate`") as err:
        optimizers.Nadam(learning_rate=lr)
    assert isinstance(err.value, ValueError)  # Keras raises ValueError: both catch it


def test_other_constructor_checks() -> None:
    with pytest.raises(ValueError, match="integers"):
        optimizers.Adamax(learning_rate=1)
    with pytest.raises(TypeError, match="`weight_decay`"):
        optimizers.SGD(weight_decay="0.1")
    with pytest.raises(ValueError, match="weight_decay=None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(NotImplementedError, match="loss_scale_factor"):
        optimizers.Adam(loss_scale_factor=128.0)
    optimizers.Adam(use_ema=True, loss_scale_factor=None)  # use_ema: tests/test_optimizer_ema.py
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adagrad(rho=0.9)
    assert optimizers.Adadelta(learning_rate=np.float32(0.5)).learning_rate == 0.5


def test_bad_gradients_change_nothing() -> None:
    a, b = Variable(np.ones((2, 2), F), "dense/kernel"), Variable(np.ones(2, F), "dense/bias")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="'dense/bias' has shape \\(3,\\)"):
        opt.apply([np.ones((2, 2), F), np.ones(3, F)], [a, b])
    with pytest.raises(ValueError, match="1 gradients for 2 variables"):
        opt.apply([np.ones((2, 2), F)], [a, b])
    assert opt.iterations == 0 and not opt._tracked
    np.testing.assert_array_equal(a.value, 1)


# ------------------------------------------------------------------ weight decay
def test_weight_decay_is_decoupled_and_excludable() -> None:
    a, b = Variable(np.full(2, 2.0, F), "dense/kernel"), Variable(np.full(2, 2.0, F), "dense/bias")
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([np.zeros(2, F), np.zeros(2, F)], [a, b])
    np.testing.assert_allclose(a.value, 2.0 - 2.0 * 0.1 * 0.5)   # decayed, zero gradient
    np.testing.assert_allclose(b.value, 2.0)                     # excluded by name
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


# ------------------------------------------------------------------ serialization
@pytest.mark.parametrize("name", ALL)
def test_config_round_trip(name: str) -> None:
    opt = getattr(optimizers, name)(learning_rate=0.25, weight_decay=0.01, clipnorm=2.0)
    again = optimizers.get(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert type(optimizers.get(name.lower())) is type(opt)


@pytest.mark.parametrize("name", ALL)
def test_saved_model_resumes_training_exactly(tmp_path, name: str) -> None:
    """Save after 2 steps, load, 2 more steps: the same weights as 4 steps without saving
    (the whole optimizer state travels, Nadam's u_product included)."""
    x, y = _data(1)
    mk.utils.set_random_seed(0)
    straight = _mlp(getattr(optimizers, name)(learning_rate=0.05))
    initial = straight.get_weights()
    for _ in range(4):
        straight.train_on_batch(x, y)
    mk.utils.set_random_seed(0)
    first = _mlp(getattr(optimizers, name)(learning_rate=0.05))
    first.set_weights(initial)
    for _ in range(2):
        first.train_on_batch(x, y)
    first.save(tmp_path / "m.keras")
    loaded = mk.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(first.optimizer) and loaded.optimizer.iterations == 2
    for _ in range(2):
        loaded.train_on_batch(x, y)
    for a, b in zip(loaded.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ Keras 2 defaults
def test_as_keras_gives_keras2_default_learning_rates() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with as_keras.installed() as keras:
            from keras.optimizers import Adadelta, Adagrad, Adamax, Nadam

            expected = {Adadelta: 1.0, Adagrad: 0.01, Adamax: 0.002, Nadam: 0.002}
            for cls, lr in expected.items():
                assert cls().learning_rate == pytest.approx(lr)
            assert keras.optimizers.Adadelta(lr=0.5).learning_rate == 0.5
            adagrad = keras.optimizers.Adagrad(0.05, 1e-6)   # Keras 2 order: lr, epsilon
            assert (adagrad.learning_rate, adagrad.epsilon) == (pytest.approx(0.05), 1e-6)
            model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(2,))])
            model.compile(optimizer="adadelta", loss="mse")
            assert model.optimizer.learning_rate == 1.0
            assert type(model.optimizer).__name__ == "Adadelta"
    assert optimizers.get("adadelta").learning_rate == pytest.approx(0.001)  # Keras 3 again


def test_keras2_default_learning_rate_warns_in_one_line() -> None:
    from minikeras._keras_shim import optimizers as shim

    with pytest.warns(DeprecationWarning, match="Keras 1/2's default 0.002") as record:
        nadam = shim.Nadam(schedule_decay=0.004)
    assert all("\n" not in str(w.message) for w in record)
    assert any("schedule_decay" in str(w.message) for w in record)
    assert nadam.learning_rate == pytest.approx(0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert shim.Adadelta(learning_rate=0.1).learning_rate == pytest.approx(0.1)


def test_classic_optimizers_script_runs_through_as_keras(tmp_path) -> None:
    """tests/legacy_scripts/mnist_optimizers_keras2.py, unchanged, from the command line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = {"PYTHONPATH": str(repo), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "MINIKERAS_MNIST_DIR" in os.environ:
        env["MINIKERAS_MNIST_DIR"] = os.environ["MINIKERAS_MNIST_DIR"]
    proc = subprocess.run([sys.executable, "-m", "minikeras.as_keras",
                           str(repo / "tests/legacy_scripts/mnist_optimizers_keras2.py"), "2000"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {}
    for line in proc.stdout.splitlines():
        if " lr " in line and "test accuracy" in line:
            name, rest = line.split(" lr ", 1)
            rows[name.strip()] = (float(rest.split()[0]), float(line.split()[-1]))
    assert {name: lr for name, (lr, _) in rows.items()} == {
        "adadelta": 1.0, "adagrad": 0.01, "adamax": 0.002, "nadam": 0.002, "sgd": 0.01,
        "'adadelta' (string)": 1.0}
    assert all(acc > 0.4 for _, acc in rows.values()), rows   # 10 classes: chance is 0.1
    assert rows["adadelta"][1] > 0.6 and rows["nadam"][1] > 0.6, rows
    assert "Keras 1/2's default 1.0 is used" in proc.stderr    # one warning line each
    assert "Best optimizer:" in proc.stdout


@pytest.mark.parametrize("kwargs,needle", [({"clipnorm": 0.0}, "clips nothing"),
                                           ({"clipvalue": 0.0}, "clips nothing"),
                                           ({"weight_decay": -0.1}, "grow")])
def test_likely_mistakes_accepted_with_a_warning(kwargs: dict, needle: str) -> None:
    """Keras accepts these silently (and clips nothing for a non-positive clip value)."""
    with pytest.warns(UserWarning, match=needle):
        opt = optimizers.SGD(learning_rate=1.0, **kwargs)
    var = Variable(np.ones(2, F), "w")
    opt.apply([np.array([3.0, -4.0], F)], [var])
    decay = 1 + 0.1 * ("weight_decay" in kwargs)
    np.testing.assert_allclose(var.value, [decay - 3.0, decay + 4.0], rtol=1e-6)


def test_nadam_state_survives_a_legacy_h5_file(tmp_path) -> None:
    x, y = _data(2)
    model = _mlp(optimizers.Nadam(learning_rate=0.05))
    for _ in range(3):
        model.train_on_batch(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the legacy format warns that it is legacy
        model.save(tmp_path / "m.h5")
        loaded = mk.models.load_model(tmp_path / "m.h5")
    assert loaded.optimizer.iterations == 3
    assert float(loaded.optimizer._u_product) == float(model.optimizer._u_product) != 1.0

"""Every optimizer against real Keras 3, option by option, on random problems.

Each case gives the same weights (three shapes: a matrix, a vector, a 3-d kernel) and the same
gradients (a fresh random draw each step, some steps ten times larger so that clipping, amsgrad's
maximum and Adamax's infinity norm all matter) to a Keras optimizer and to a minikeras one
through ``optimizer.apply(grads, variables)``, for 10 steps, and compares the weights after
steps 1 and 10 and the whole optimizer state (``optimizer.variables``: iterations, learning
rate, every slot, Nadam's u_product) after step 10, at the optimizer-parity tolerance of
``test_core_parity.py`` (weights after up to 10 steps: 2e-6). The worst gap is printed
(``pytest -s``).

Also measured here against Keras: the constructors' accepted and refused arguments, and each
``get_config`` (same keys and values for the arguments minikeras implements).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import minikeras as mk
from minikeras.variable import Variable

pytestmark = pytest.mark.parity

WEIGHT_ATOL = 2e-6
SHAPES = ((5, 4), (4,), (3, 2, 3))
STEPS = 10

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.05, "weight_decay": 0.1}),
    "sgd_nesterov_weight_decay": ("SGD", {"learning_rate": 0.05, "momentum": 0.9,
                                          "nesterov": True, "weight_decay": 0.05}),
    "sgd_momentum_clipvalue": ("SGD", {"learning_rate": 0.05, "momentum": 0.5,
                                       "clipvalue": 0.3}),
    "rmsprop_centered_momentum": ("RMSprop", {"learning_rate": 0.01, "centered": True,
                                              "momentum": 0.5, "rho": 0.8}),
    "rmsprop_weight_decay_clipnorm": ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.2,
                                                  "clipnorm": 0.5}),
    "adam_amsgrad_weight_decay": ("Adam", {"learning_rate": 0.01, "amsgrad": True,
                                           "weight_decay": 0.1}),
    "adam_global_clipnorm": ("Adam", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99,
                                      "global_clipnorm": 1.0}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "adadelta_rho_epsilon": ("Adadelta", {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-4}),
    "adadelta_weight_decay_clipnorm": ("Adadelta", {"learning_rate": 1.0, "weight_decay": 0.05,
                                                    "clipnorm": 1.0}),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adagrad_initial_accumulator": ("Adagrad", {"learning_rate": 0.1,
                                                "initial_accumulator_value": 0.5,
                                                "epsilon": 1e-3}),
    "adagrad_weight_decay_clipvalue": ("Adagrad", {"learning_rate": 0.1, "weight_decay": 0.1,
                                                   "clipvalue": 0.5}),
    "adamax": ("Adamax", {"learning_rate": 0.02}),
    "adamax_betas": ("Adamax", {"learning_rate": 0.02, "beta_1": 0.7, "beta_2": 0.9}),
    "adamax_weight_decay_global_clipnorm": ("Adamax", {"learning_rate": 0.02,
                                                       "weight_decay": 0.1,
                                                       "global_clipnorm": 2.0}),
    "nadam": ("Nadam", {"learning_rate": 0.02}),
    "nadam_betas": ("Nadam", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99}),
    "nadam_weight_decay_clipnorm": ("Nadam", {"learning_rate": 0.02, "weight_decay": 0.1,
                                              "clipnorm": 1.0}),
    "adamw": ("AdamW", {"learning_rate": 0.02}),
    "adamw_amsgrad": ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    "adamw_clipvalue": ("AdamW", {"learning_rate": 0.02, "clipvalue": 0.2}),
}


def _problem(seed: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[(rng.standard_normal(s) * (3.0 if step % 3 == 1 else 0.3)).astype(np.float32)
              for s in SHAPES] for step in range(STEPS)]
    return init, grads


def _run_keras(keras: Any, cls: str, kwargs: dict, init: list, grads: list) -> tuple:
    variables = [keras.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(init)]
    opt = getattr(keras.optimizers, cls)(**kwargs)
    after = {}
    for step, g in enumerate(grads, start=1):
        opt.apply([keras.ops.convert_to_tensor(x) for x in g], variables)
        if step in (1, STEPS):
            after[step] = [np.asarray(v.numpy()) for v in variables]
    return after, [np.asarray(v.numpy()) for v in opt.variables]


def _run_minikeras(cls: str, kwargs: dict, init: list, grads: list) -> tuple:
    variables = [Variable(w.copy(), f"w{i}") for i, w in enumerate(init)]
    opt = getattr(mk.optimizers, cls)(**kwargs)
    after = {}
    for step, g in enumerate(grads, start=1):
        opt.apply([x.copy() for x in g], variables)
        if step in (1, STEPS):
            after[step] = [mk.backend.to_numpy(v.value).copy() for v in variables]
    return after, [np.asarray(mk.backend.to_numpy(v)) for v in opt.variables]


@pytest.mark.parametrize("case", list(CASES))
def test_weights_and_state_after_steps_match_keras(keras: Any, case: str) -> None:
    cls, kwargs = CASES[case]
    init, grads = _problem(sum(map(ord, case)))
    k_after, k_state = _run_keras(keras, cls, kwargs, init, grads)
    m_after, m_state = _run_minikeras(cls, kwargs, init, grads)
    worst = 0.0
    for step in (1, STEPS):
        for i, (a, b) in enumerate(zip(m_after[step], k_after[step], strict=True)):
            np.testing.assert_allclose(a, b, atol=WEIGHT_ATOL, err_msg=f"weight {i}, step {step}")
            worst = max(worst, float(np.abs(a - b).max()))
    assert len(m_state) == len(k_state)
    for i, (a, b) in enumerate(zip(m_state, k_state, strict=True)):
        assert a.shape == b.shape, f"state {i}"
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=WEIGHT_ATOL, err_msg=f"state {i}")
    moved = max(float(np.abs(a - b).max()) for a, b in zip(k_after[STEPS], init, strict=True))
    assert moved > 1e-2, moved  # the steps were big enough to mean something
    print(f"{case}: worst weight gap {worst:.2e}")


def test_weight_decay_exclusions_match_keras(keras: Any) -> None:
    init, grads = _problem(3)
    results = []
    for fw, make in ((keras, lambda w, i: keras.Variable(w.copy(), name=f"w{i}")),
                     (mk, lambda w, i: Variable(w.copy(), f"w{i}"))):
        variables = [make(w, i) for i, w in enumerate(init)]
        opt = fw.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_list=[variables[0]], var_names=["w2"])
        for g in grads[:3]:
            opt.apply([x.copy() for x in g], variables)
        results.append([np.asarray(v.numpy()) for v in variables])
    for a, b in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(a, b, atol=WEIGHT_ATOL)


# ------------------------------------------------------------------ constructors and configs
NAMES = ["SGD", "RMSprop", "Adam", "Adadelta", "Adagrad", "Adamax", "Nadam", "AdamW"]


@pytest.mark.parametrize("cls", NAMES)
def test_defaults_and_config_match_keras(keras: Any, cls: str) -> None:
    k_config = getattr(keras.optimizers, cls)().get_config()
    m_config = getattr(mk.optimizers, cls)().get_config()
    for key, value in m_config.items():
        if key != "name":
            assert k_config[key] == value, (key, k_config[key], value)
    missing = set(k_config) - set(m_config)
    assert missing <= {"loss_scale_factor", "gradient_accumulation_steps"}, missing
    assert type(mk.optimizers.get(cls.upper())).__name__ == type(keras.optimizers.get(
        cls.upper())).__name__ == cls


@pytest.mark.parametrize("kwargs", [{"learning_rate": 1}, {"learning_rate": "0.1"},
                                    {"learning_rate": None}, {"foo": 1.0},
                                    {"clipnorm": 1.0, "clipvalue": 1.0}])
@pytest.mark.parametrize("cls", ["Adadelta", "Adagrad", "Adamax", "Nadam", "AdamW"])
def test_refusals_match_keras(keras: Any, cls: str, kwargs: dict) -> None:
    """What Keras refuses with ValueError, minikeras refuses too (a non-numeric learning rate
    raises minikeras' LearningRateTypeError, both a TypeError and a ValueError)."""
    with pytest.raises(ValueError):
        getattr(keras.optimizers, cls)(**kwargs)
    with pytest.raises(ValueError):
        getattr(mk.optimizers, cls)(**kwargs)


@pytest.mark.parametrize("lr", [-0.1, float("nan")])
def test_negative_and_nan_learning_rates_accepted_as_keras_does(keras: Any, lr: float) -> None:
    keras.optimizers.Nadam(learning_rate=lr)  # no error in Keras
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        mk.optimizers.Nadam(learning_rate=lr)
    assert any(issubclass(w.category, UserWarning) and repr(lr) in str(w.message)
               for w in record), [str(w.message) for w in record]
    with pytest.raises(ValueError, match="weight_decay"):
        keras.optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="weight_decay"):
        mk.optimizers.AdamW(weight_decay=None)


# ------------------------------------------------------------------ saved state crosses
@pytest.mark.parametrize("cls,kwargs", [("Adadelta", {"learning_rate": 1.0}),
                                        ("Adagrad", {"learning_rate": 0.1}),
                                        ("Adamax", {"learning_rate": 0.02}),
                                        ("Nadam", {"learning_rate": 0.02}),
                                        ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.1}),
                                        ("SGD", {"learning_rate": 0.1})])
@pytest.mark.parametrize("direction", ["keras->minikeras", "minikeras->keras"])
def test_optimizer_state_crosses_weights_files(keras: Any, cls: str, kwargs: dict,
                                               direction: str, tmp_path: Any) -> None:
    """Two steps on one side, ``save_weights``, ``load_weights`` on the other (iterations,
    learning rate, every slot, Nadam's u_product): the third step gives the same weights."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    models = []
    for fw in (keras, mk):
        model = fw.Sequential([fw.Input((3,)), fw.layers.Dense(4, activation="tanh"),
                               fw.layers.Dense(2)])
        model.compile(getattr(fw.optimizers, cls)(**kwargs), "mse")
        models.append(model)
    k_model, m_model = models
    m_model.set_weights(k_model.get_weights())
    for model in models:
        model.train_on_batch(x[:4], y[:4])            # both optimizers built
    src, dst = (k_model, m_model) if direction == "keras->minikeras" else (m_model, k_model)
    src.train_on_batch(x[4:], y[4:])
    path = str(tmp_path / "s.weights.h5")
    src.save_weights(path)
    dst.load_weights(path)
    assert int(np.asarray(dst.optimizer.iterations)) == 2
    for model in models:
        model.train_on_batch(x, y)
    for a, b in zip(m_model.get_weights(), k_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=WEIGHT_ATOL)

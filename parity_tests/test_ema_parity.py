"""The optimizers' moving average of the weights (``use_ema``) against real Keras 3.

* a small Dense model, same initial weights, 23 ``train_on_batch`` steps on the same batches
  with Adam(use_ema=True) and SGD(use_ema=True, ema_overwrite_frequency=5): the weights and
  the whole optimizer state (the averages first) after the steps, then after
  ``finalize_variable_values``, at the training-parity tolerance of ``test_core_parity.py``;
* ``fit`` (which finalizes) on both sides: the same final weights;
* every optimizer through ``optimizer.apply`` (the problems of ``test_optimizer_parity.py``)
  with an average and an overwrite every 4 steps: weights and state;
* the arguments Keras refuses and accepts, and ``get_config``;
* ``.weights.h5`` and ``.keras`` files with the averages cross both ways.

The worst gaps are printed (``pytest -s``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import minikeras as mk
from parity_tests import test_optimizer_parity as opt_parity

pytestmark = pytest.mark.parity

WEIGHT_ATOL = 2e-6     # weights after training steps (test_core_parity.py)
STATE_RTOL = 1e-5      # optimizer state (test_optimizer_parity.py)
STEPS = 23              # not a multiple of 5: the averages are not the weights at the end

OPTIMIZERS = {"adam": ("Adam", {"learning_rate": 0.01, "use_ema": True}),
              "sgd_overwrite_5": ("SGD", {"learning_rate": 0.05, "momentum": 0.5,
                                          "use_ema": True, "ema_overwrite_frequency": 5})}


def _dense(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((6,)), L.Dense(8, activation="tanh"), L.Dense(3)])


def _batches(seed: int = 11) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((8, 6)).astype("float32"),
             rng.standard_normal((8, 3)).astype("float32")) for _ in range(STEPS)]


def _pair(keras: Any, key: str) -> tuple[Any, Any]:
    cls, kwargs = OPTIMIZERS[key]
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    k_model = _dense(keras)
    m_model = _dense(mk)
    m_model.set_weights(k_model.get_weights())
    k_model.compile(getattr(keras.optimizers, cls)(**kwargs), "mse")
    m_model.compile(getattr(mk.optimizers, cls)(**kwargs), "mse")
    return k_model, m_model


def _state(model: Any) -> list[np.ndarray]:
    return [np.asarray(mk.backend.to_numpy(v) if not hasattr(v, "numpy") else v.numpy())
            for v in model.optimizer.variables]


def _gap(a: list, b: list, atol: float, rtol: float = 0.0) -> float:
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        assert np.shape(u) == np.shape(v), i
        np.testing.assert_allclose(u, v, atol=atol, rtol=rtol, err_msg=f"array {i}")
    return max(float(np.max(np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64))))
               for u, v in zip(a, b, strict=True))


@pytest.fixture(scope="module", params=list(OPTIMIZERS))
def trained(request: Any, keras: Any) -> tuple[str, Any, Any]:
    """Both models after 23 steps (built once per optimizer for the module)."""
    k_model, m_model = _pair(keras, request.param)
    for x, y in _batches():
        k_model.train_on_batch(x, y)
        m_model.train_on_batch(x, y)
    return request.param, k_model, m_model


def test_weights_and_averages_after_23_steps(trained: Any) -> None:
    key, k_model, m_model = trained
    weights = _gap(m_model.get_weights(), k_model.get_weights(), WEIGHT_ATOL)
    state = _gap(_state(m_model), _state(k_model), WEIGHT_ATOL, STATE_RTOL)
    n = len(m_model.trainable_weights)
    averages = _state(m_model)[2:2 + n]
    moved = max(float(np.abs(a - w).max()) for a, w in zip(averages, m_model.get_weights(),
                                                           strict=True))
    assert moved > 1e-3, moved   # the average is not the weights: the comparison means something
    print(f"ema {key}: worst weight gap {weights:.2e}, worst state gap {state:.2e} "
          f"(averages {moved:.2e} from the weights)")


def test_finalize_swaps_the_same_averages_in(trained: Any) -> None:
    key, k_model, m_model = trained
    k_model.optimizer.finalize_variable_values(k_model.trainable_weights)
    m_model.optimizer.finalize_variable_values(m_model.trainable_weights)
    gap = _gap(m_model.get_weights(), k_model.get_weights(), WEIGHT_ATOL)
    print(f"ema {key}: after finalize_variable_values, worst weight gap {gap:.2e}")


def test_fit_finalizes_as_keras(keras: Any) -> None:
    k_model, m_model = _pair(keras, "sgd_overwrite_5")
    x = np.concatenate([b[0] for b in _batches(5)[:6]])
    y = np.concatenate([b[1] for b in _batches(5)[:6]])
    k_hist = k_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    m_hist = m_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(m_hist.history["loss"], k_hist.history["loss"], rtol=1e-5)
    gap = _gap(m_model.get_weights(), k_model.get_weights(), WEIGHT_ATOL)
    k_avg = [v.numpy() for v in k_model.optimizer._model_variables_moving_average]
    for w, a in zip(k_model.get_weights(), k_avg, strict=True):
        np.testing.assert_array_equal(w, a)   # Keras' fit ended on the averages
    print(f"ema fit: worst weight gap {gap:.2e}")


@pytest.mark.parametrize("cls", opt_parity.NAMES)
def test_every_optimizer_apply_with_ema(keras: Any, cls: str) -> None:
    kwargs = {"learning_rate": 1.0 if cls == "Adadelta" else 0.02, "use_ema": True,
              "ema_momentum": 0.8, "ema_overwrite_frequency": 4}
    init, grads = opt_parity._problem(sum(map(ord, cls)) + 1)
    k_after, k_state = opt_parity._run_keras(keras, cls, kwargs, init, grads)
    m_after, m_state = opt_parity._run_minikeras(cls, kwargs, init, grads)
    weights = _gap(m_after[opt_parity.STEPS], k_after[opt_parity.STEPS], WEIGHT_ATOL)
    state = _gap(m_state, k_state, WEIGHT_ATOL, STATE_RTOL)
    print(f"ema apply {cls}: worst weight gap {weights:.2e}, worst state gap {state:.2e}")


# ------------------------------------------------------------------ arguments and config
ARGUMENTS = [
    {"use_ema": True, "ema_momentum": 1.5}, {"use_ema": True, "ema_momentum": -0.1},
    {"use_ema": True, "ema_momentum": "0.9"}, {"use_ema": True, "ema_momentum": None},
    {"use_ema": True, "ema_overwrite_frequency": 2.0},
    {"use_ema": True, "ema_overwrite_frequency": -1},
    {"use_ema": True, "ema_overwrite_frequency": "3"},
    {"use_ema": True, "ema_overwrite_frequency": 0}, {"use_ema": True, "ema_momentum": 1.0},
    {"use_ema": True, "ema_momentum": 0}, {"use_ema": False, "ema_momentum": 5.0},
    {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 7},
]


@pytest.mark.parametrize("kwargs", ARGUMENTS, ids=[str(k) for k in ARGUMENTS])
def test_arguments_refused_and_accepted_as_keras(keras: Any, kwargs: dict) -> None:
    """Keras' error type where Keras refuses; where it accepts, the same config."""
    try:
        k_config = keras.optimizers.Adam(**kwargs).get_config()
    except (TypeError, ValueError) as k_error:
        with pytest.raises(type(k_error)):
            mk.optimizers.Adam(**kwargs)
        return
    likely_mistake = (kwargs.get("ema_momentum") in (5.0, 1.0)
                      or kwargs.get("ema_overwrite_frequency") == 0)
    with warnings.catch_warnings(record=True) as caught:   # accepted, and warned if a mistake
        warnings.simplefilter("always")
        m_config = mk.optimizers.Adam(**kwargs).get_config()
    assert bool(caught) == likely_mistake, [str(w.message) for w in caught]
    for key, value in m_config.items():
        assert key == "name" or k_config[key] == value, (key, k_config[key], value)


# ------------------------------------------------------------------ files, both ways
@pytest.mark.parametrize("fmt", [".weights.h5", ".keras"])
@pytest.mark.parametrize("direction", ["keras->minikeras", "minikeras->keras"])
def test_files_with_averages_cross(keras: Any, fmt: str, direction: str, tmp_path: Any) -> None:
    """Train 7 steps on both, 1 more on the source, save, load on the other: the averages
    arrive, and the next step (the 10th overwrites the weights) is the same."""
    k_model, m_model = _pair(keras, "sgd_overwrite_5")
    batches = _batches(7)[:10]
    for x, y in batches[:7]:
        k_model.train_on_batch(x, y)
        m_model.train_on_batch(x, y)
    src, dst = (k_model, m_model) if direction == "keras->minikeras" else (m_model, k_model)
    src.train_on_batch(*batches[7])
    path = str(tmp_path / f"s{fmt}")
    if fmt == ".weights.h5":
        src.save_weights(path)
        dst.load_weights(path)
    else:
        src.save(path)
        loaded = (mk.models.load_model(path) if dst is m_model
                  else keras.models.load_model(path))
        k_model, m_model = (k_model, loaded) if dst is m_model else (loaded, m_model)
    assert int(np.asarray(m_model.optimizer.iterations)) == 8
    assert int(np.asarray(k_model.optimizer.iterations)) == 8
    assert m_model.optimizer.use_ema and m_model.optimizer.ema_overwrite_frequency == 5
    _gap(_state(m_model), _state(k_model), WEIGHT_ATOL, STATE_RTOL)
    for x, y in batches[8:]:
        k_model.train_on_batch(x, y)
        m_model.train_on_batch(x, y)
    _gap(m_model.get_weights(), k_model.get_weights(), WEIGHT_ATOL)
    _gap(_state(m_model), _state(k_model), WEIGHT_ATOL, STATE_RTOL)

"""fit / evaluate / predict on a PyDataset and on a generator, side by side with Keras 3.15.1.

The same small Dense model, from the same initial weights, trains 2 epochs on a PyDataset
(with a PyDataset as validation data), then 2 more on a generator (``steps_per_epoch``,
with a generator as validation data and ``validation_steps``); then evaluate and predict
read a generator and a PyDataset, and one more epoch weighs a PyDataset's batches by
``class_weight``. Losses, history keys and weights are compared with the
tolerances of ``test_training_parity.py``. The training generator yields more batches than
the epochs take: once a generator is exhausted Keras replays the batches it peeked at.

Skipped: the validation generator's second epoch. Keras validates it on the generator's
first two batches again (it replays the batches it peeked at when it restarts its iterator),
minikeras on the next two: a generator cannot restart (parity_report.md). The test pins that
difference instead of comparing it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

LOSS_RTOL, WEIGHT_ATOL = 1e-5, 1e-6


def _batches(k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((5, 3)).astype("float32"),
             rng.standard_normal((5, 2)).astype("float32")) for _ in range(k)]


def run(fw: Any) -> dict[str, Any]:
    class Batches(fw.utils.PyDataset):
        def __init__(self, batches: list, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.batches, self.ends = batches, 0

        def __len__(self) -> int:
            return len(self.batches)

        def __getitem__(self, index: int) -> Any:
            return self.batches[index]

    def gen(batches: list) -> Any:
        yield from batches

    fw.utils.set_random_seed(0)
    model = fw.Sequential([fw.Input((3,)), fw.layers.Dense(4, activation="tanh"),
                           fw.layers.Dense(2)])
    model.compile(fw.optimizers.Adam(0.01), "mse", metrics=["mae"])
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    out: dict[str, Any] = {}
    h = model.fit(Batches(_batches(3, 2)), epochs=2, shuffle=False, verbose=0,
                  validation_data=Batches(_batches(2, 3)))
    out["pydataset"] = h.history
    h = model.fit(gen(_batches(8, 4)), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0,
                  validation_data=gen(_batches(6, 5)), validation_steps=2)
    out["generator"] = h.history
    out["weights"] = [np.asarray(w) for w in model.get_weights()]
    val = _batches(6, 5)   # the validation generator's batches 0-1 and 2-3, final weights
    out["val_batches"] = [model.evaluate(np.concatenate([b[0] for b in part]),
                                         np.concatenate([b[1] for b in part]), batch_size=5,
                                         verbose=0) for part in (val[:2], val[2:4])]
    out["evaluate_gen"] = model.evaluate(gen(_batches(3, 6)), verbose=0, return_dict=True)
    out["evaluate_pyds"] = model.evaluate(Batches(_batches(3, 6)), steps=2, verbose=0)
    out["predict_gen"] = model.predict(gen([(b[0],) for b in _batches(3, 7)]), verbose=0)
    out["predict_pyds"] = model.predict(Batches(_batches(3, 7)), verbose=0)
    h = model.fit(Batches(_batches(2, 8)), class_weight={0: 1.0, 1: 3.0}, shuffle=False,
                  verbose=0)   # each sample weighted by the class of argmax(y)
    out["class_weight"] = h.history
    return out


@pytest.fixture(scope="module")
def both(keras: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return run(keras), run(mk)


@pytest.mark.parametrize("fit", ["pydataset", "generator", "class_weight"])
def test_fit_history_matches_keras(both: tuple[dict, dict], fit: str) -> None:
    k, m = both[0][fit], both[1][fit]
    assert sorted(m) == sorted(k)
    for key in k:
        assert len(m[key]) == len(k[key]) == (1 if fit == "class_weight" else 2)
        last = 1 if fit == "generator" and key.startswith("val_") else 2   # skipped: doc
        np.testing.assert_allclose(m[key][:last], k[key][:last], rtol=LOSS_RTOL)


def test_validation_generator_second_epoch_keras_replays_its_first_batches(
        both: tuple[dict, dict]) -> None:
    """Epoch 2's validation: Keras on the generator's batches 0-1 again, minikeras on 2-3."""
    k, m = both[0], both[1]
    k_first, k_next = k["val_batches"]
    m_first, m_next = m["val_batches"]
    np.testing.assert_allclose(k["generator"]["val_loss"][1], k_first[0], rtol=LOSS_RTOL)
    np.testing.assert_allclose(m["generator"]["val_loss"][1], m_next[0], rtol=LOSS_RTOL)
    np.testing.assert_allclose(m_next, k_next, rtol=LOSS_RTOL)


def test_weights_match_keras(both: tuple[dict, dict]) -> None:
    for m_w, k_w in zip(both[1]["weights"], both[0]["weights"], strict=True):
        np.testing.assert_allclose(m_w, k_w, atol=WEIGHT_ATOL)


@pytest.mark.parametrize("call", ["evaluate_gen", "evaluate_pyds", "predict_gen",
                                  "predict_pyds"])
def test_evaluate_and_predict_match_keras(both: tuple[dict, dict], call: str) -> None:
    k, m = both[0][call], both[1][call]
    if isinstance(k, dict):
        assert sorted(m) == sorted(k)
        k, m = [k[key] for key in sorted(k)], [m[key] for key in sorted(m)]
    assert np.shape(m) == np.shape(k)
    np.testing.assert_allclose(m, k, rtol=LOSS_RTOL, atol=WEIGHT_ATOL)

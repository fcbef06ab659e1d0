"""``minikeras.utils.gradient_check`` on the six tutorial models, layers, and a broken backward.

The six models are the tutorials' own (``parity_tests/models.py``: one definition for the
parity tests and here; the CNN scaled down), on small random batches: finite differences
need no real data, and random inputs keep the relus and maxima clear of their kinks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minikeras
from minikeras import backend, layers
from minikeras.utils import gradient_check, set_random_seed
from parity_tests import models as tutorial


def small_cnn(fw: Any) -> tutorial.Built:
    """Tutorial 3's CNN layer for layer (conv 5x5 same relu, pool, conv, pool, flatten, dense
    relu, dense softmax) on 12x12 images with fewer filters: its 3136x1024 Dense alone would
    take seconds of finite differences in float64."""
    L = fw.layers
    return tutorial.Built(fw.Sequential([
        fw.Input((12, 12, 1)),
        L.Conv2D(4, 5, padding="same", activation="relu"),
        L.MaxPooling2D((2, 2), (2, 2), padding="same"),
        L.Conv2D(8, 5, padding="same", activation="relu"),
        L.MaxPooling2D((2, 2), (2, 2), padding="same"),
        L.Flatten(),
        L.Dense(32, activation="relu"),
        L.Dense(10, activation="softmax"),
    ]))


def _onehot(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.eye(10, dtype="float32")[rng.integers(0, 10, n)]


# name: (builder, optimizer, loss, x shape, targets from (x, rng))
SIX: dict[str, tuple[Callable, str, str, tuple, Callable]] = {
    "regression": (tutorial.build_regression, "sgd", "mse", (8, 1),
                   lambda x, r: 0.5 * x + 2),
    "mnist_mlp": (tutorial.build_mlp, "rmsprop", "categorical_crossentropy", (4, 784),
                  lambda x, r: _onehot(len(x), r)),
    "cnn": (small_cnn, "adam", "categorical_crossentropy", (2, 12, 12, 1),
            lambda x, r: _onehot(len(x), r)),
    "simple_rnn": (tutorial.build_rnn, "adam", "categorical_crossentropy", (3, 28, 28),
                   lambda x, r: _onehot(len(x), r)),
    "stateful_lstm": (tutorial.build_lstm, "adam", "mse", (50, 20, 1),
                      lambda x, r: np.cos(x)),
    "autoencoder": (tutorial.build_autoencoder, "adam", "mse", (4, 784), lambda x, r: x),
}


def build_six(name: str, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """(compiled model, x, y) for one of the six tutorial models, seeded."""
    set_random_seed(seed)
    build, optimizer, loss, shape, targets = SIX[name]
    model = build(minikeras).model
    model.compile(optimizer=optimizer, loss=loss)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype("float32")
    return model, x, np.asarray(targets(x, rng), dtype="float32")


@pytest.mark.parametrize("name", list(SIX))
def test_six_models_gradients_agree_and_model_is_restored(name: str) -> None:
    model, x, y = build_six(name)
    before = model.get_weights()
    lines: list[str] = []
    report = gradient_check(model, x, y, max_entries=6, print_fn=lines.append)
    expected = {w.name for w in model.trainable_weights} | {"input"}
    assert set(report) == expected
    assert max(report.values()) < 1e-4, report
    assert len(lines) == 2 + len(expected) and "max rel. error" in lines[1]
    # without targets: L = sum(G * model(x)) for a random G
    report = gradient_check(model, x, max_entries=2, verbose=False)
    assert max(report.values()) < 1e-4, report
    # everything is back: float32 weights, bit for bit, and the float32 default
    after = model.get_weights()
    assert all(a.dtype == np.float32 and np.array_equal(a, b)
               for a, b in zip(after, before, strict=True))
    assert backend.floatx() == "float32"
    assert all(w.value.dtype == np.float32 for w in model.weights)


def test_stateful_state_survives_the_check() -> None:
    model, x, y = build_six("stateful_lstm")
    model.train_on_batch(x, y)        # the LSTM now carries a state into the next batch
    lstm = model.layers[0]
    state = [s.copy() for s in lstm.states]
    gradient_check(model, x, y, max_entries=2, verbose=False)
    assert all(s.dtype == np.float32 and np.array_equal(s, t)
               for s, t in zip(lstm.states, state, strict=True))


def test_a_layer_on_its_own() -> None:
    set_random_seed(1)
    conv = layers.Conv2D(3, 3, padding="same", activation="tanh")
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 2)).astype("float32")
    report = gradient_check(conv, x, verbose=False)
    assert set(report) == {"conv2d/kernel", "conv2d/bias", "input"}
    assert max(report.values()) < 1e-5
    assert conv.kernel.value.dtype == np.float32


def test_uncompiled_model_with_targets_uses_mse() -> None:
    set_random_seed(2)
    model = minikeras.Sequential([minikeras.Input((3,)), layers.Dense(2, activation="relu")])
    x = np.random.default_rng(2).standard_normal((5, 3)).astype("float32")
    report = gradient_check(model, x, np.zeros((5, 2), "float32"), verbose=False)
    assert max(report.values()) < 1e-5


def test_a_wrong_backward_is_caught() -> None:
    model, x, y = build_six("mnist_mlp")
    dense = model.layers[0]
    right = type(dense).backward_from_logits

    def off_by_ten_percent(grad_logits: Any) -> Any:   # a bug: dW and dx 10% too large
        return right(dense, grad_logits * 1.1)

    dense.backward_from_logits = off_by_ten_percent
    lines: list[str] = []
    try:
        report = gradient_check(model, x, y, max_entries=4, print_fn=lines.append)
    finally:
        del dense.backward_from_logits
    assert report[dense.kernel.name] > 0.05 and report["input"] > 0.05
    assert report[model.layers[1].kernel.name] < 1e-4
    assert any("check this backward" in line and dense.kernel.name in line for line in lines)

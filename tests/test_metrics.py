"""Metrics: Keras 3's shape-based resolution of 'accuracy', the values, running means."""

from __future__ import annotations

import numpy as np
import pytest

from minikeras import Sequential, layers, metrics


@pytest.mark.parametrize("y_shape,p_shape,cls", [
    ((8, 1), (8, 1), metrics.BinaryAccuracy),          # ŷ's last axis is 1
    ((8,), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 10), metrics.SparseCategoricalAccuracy),  # lower rank
    ((8, 1), (8, 10), metrics.SparseCategoricalAccuracy),  # y's last axis 1, ŷ's > 1
    ((8, 10), (8, 10), metrics.CategoricalAccuracy),
    ((4, 5, 3), (4, 5, 3), metrics.CategoricalAccuracy),
    ((4, 5), (4, 5, 3), metrics.SparseCategoricalAccuracy),
])
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_accuracy_resolved_from_shapes(y_shape, p_shape, cls, name: str) -> None:
    m = metrics.get(name, y_shape, p_shape)
    assert type(m) is cls
    assert m.name == name  # logged under the name the user gave


def test_binary_accuracy_threshold_is_strict() -> None:
    m = metrics.BinaryAccuracy("acc")
    m.update_state(np.array([[1.0], [0.0], [1.0], [0.0]], np.float32),
                   np.array([[0.5], [0.5], [0.51], [0.2]], np.float32))
    assert float(m.result()) == 0.75  # 0.5 counts as class 0


def test_categorical_and_sparse_values() -> None:
    p = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], np.float32)
    labels = np.array([1, 2, 2])
    cat = metrics.CategoricalAccuracy("a")
    cat.update_state(np.eye(3, dtype=np.float32)[labels], p)
    sparse = metrics.SparseCategoricalAccuracy("a")
    sparse.update_state(labels[:, None].astype(np.float32), p)
    assert np.isclose(float(cat.result()), 2 / 3) and np.isclose(float(sparse.result()), 2 / 3)


def test_running_mean_over_batches_and_reset() -> None:
    m = metrics.get("mse", (2, 2), (2, 2))
    m.update_state(np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32))       # 1, 1
    m.update_state(np.zeros((1, 2), np.float32), np.full((1, 2), 2, np.float32))    # 4
    assert np.isclose(float(m.result()), 2.0)  # per-sample mean: (1 + 1 + 4) / 3
    m.reset_state()
    assert float(m.result()) == 0.0
    mae = metrics.get("mae", (1, 2), (1, 2))
    mae.update_state(np.zeros((1, 2), np.float32), np.array([[1.0, -3.0]], np.float32))
    assert float(mae.result()) == 2.0


def test_sample_weighted_metric_is_weighted_mean() -> None:
    m = metrics.MeanSquaredError("mse")
    m.update_state(np.zeros((3, 1), np.float32), np.array([[1.0], [2.0], [3.0]], np.float32),
                   sample_weight=np.array([1.0, 0.0, 3.0], np.float32))
    assert np.isclose(float(m.result()), (1 + 27) / 4)


def test_model_metrics_ignore_sample_weight() -> None:
    """Keras 3: compile(metrics=) are unweighted; only the loss uses sample_weight."""
    model = Sequential([layers.Input((2,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 1, 0]]
    w = np.array([5.0, 0, 0, 0, 0, 1.0])
    plain = model.evaluate(x, y, verbose=0)
    weighted = model.evaluate(x, y, sample_weight=w, verbose=0)
    assert weighted[1] == plain[1]
    assert weighted[0] != plain[0]


def test_unknown_metric_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="accuracy"):
        metrics.get("acuracy", (2, 2), (2, 2))

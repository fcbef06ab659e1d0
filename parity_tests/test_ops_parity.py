"""Symbolic tensor arithmetic (x + y, x * 2.0, 1.0 - x, x / 3, -x, x ** 1.5, abs(x), x @ W,
x[:, 1:]) side by side with Keras 3: the same graph built in both, from Keras' weights.

* forward outputs agree (5e-6, the hidden-activation tolerance of test_core_parity);
* 10 SGD steps: every loss within 1e-6 relative and the weights within 2e-6 (the gradients
  through the operations, broadcasting included, are Keras');
* ``summary()`` prints the same text;
* ``.keras`` files cross both ways: minikeras loads Keras' file and Keras loads minikeras'
  (the operations are ``keras.src.ops.numpy`` classes in both), with the same predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

ACT_ATOL, LOSS_RTOL, WEIGHT_ATOL = 5e-6, 1e-6, 2e-6
W_CONST = (np.arange(12, dtype="float32").reshape(4, 3) / 12 - 0.4).astype("float32")
ROW = np.array([[0.5, -1.0, 2.0, 0.25]], dtype="float32")


def _build(fw: Any) -> Any:
    """A residual block and every operation, with constants on either side."""
    fw.backend.clear_session()
    a, b = fw.Input((4,)), fw.Input((1,))
    x = fw.layers.Dense(4, activation="tanh", name="d1")(a)
    residual = x
    x = fw.layers.Dense(4, name="d2")(x)
    x += residual
    x = x * b                       # (N, 4) * (N, 1): broadcast over the features
    x = 1.0 - x / 3
    x = -x + ROW                    # a (1, 4) constant row
    x = x @ W_CONST
    x = abs(x) ** 1.5 + 0.5 ** x    # Absolute, Power both ways
    x = x * x
    x = x[:, 1:] + x[..., :1]       # GetItem: slices and an ellipsis
    return fw.Model([a, b], fw.layers.Dense(2, name="out")(x))


def _data() -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((16, 4)).astype("float32"),
          rng.standard_normal((16, 1)).astype("float32")]
    return xs, rng.standard_normal((16, 2)).astype("float32")


@pytest.fixture(scope="module")
def pair(keras: Any) -> tuple[Any, Any]:
    k_model = _build(keras)
    m_model = _build(mk)
    m_model.set_weights([np.asarray(w) for w in k_model.get_weights()])
    return k_model, m_model


def test_forward_matches_keras(pair: tuple[Any, Any]) -> None:
    k_model, m_model = pair
    xs, _ = _data()
    np.testing.assert_allclose(m_model.predict(xs, verbose=0),
                               np.asarray(k_model.predict(xs, verbose=0)), atol=ACT_ATOL,
                               rtol=1e-6)


def test_summary_text_matches_keras(pair: tuple[Any, Any]) -> None:
    k_model, m_model = pair
    k_lines: list[str] = []
    m_lines: list[str] = []
    k_model.summary(print_fn=lambda line, **_: k_lines.extend(line.split("\n")))
    m_model.summary(print_fn=m_lines.append)
    strip = [line.rstrip() for line in k_lines if line.strip()]
    assert [line.rstrip() for line in m_lines] == strip


def test_training_steps_match_keras(keras: Any) -> None:
    k_model, m_model = _build(keras), _build(mk)
    m_model.set_weights([np.asarray(w) for w in k_model.get_weights()])
    k_model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    m_model.compile(optimizer=mk.optimizers.SGD(0.05), loss="mse")
    xs, y = _data()
    k_losses, m_losses = [], []
    for _ in range(10):
        k_losses.append(float(np.asarray(k_model.train_on_batch(xs, y))))
        m_losses.append(float(np.asarray(m_model.train_on_batch(xs, y))))
    np.testing.assert_allclose(m_losses, k_losses, rtol=LOSS_RTOL)
    assert m_losses[-1] < m_losses[0]
    for i, (a, b) in enumerate(zip(m_model.get_weights(), k_model.get_weights(), strict=True)):
        np.testing.assert_allclose(a, np.asarray(b), atol=WEIGHT_ATOL, err_msg=f"weight {i}")


def test_keras_files_cross_both_ways(keras: Any, pair: tuple[Any, Any], tmp_path: Any) -> None:
    k_model, m_model = pair
    xs, _ = _data()
    expected = np.asarray(k_model.predict(xs, verbose=0))
    k_model.save(tmp_path / "from_keras.keras")
    m_loaded = mk.models.load_model(tmp_path / "from_keras.keras")
    assert [op.name for op in m_loaded.operations] == [op.name for op in k_model.operations]
    np.testing.assert_allclose(m_loaded.predict(xs, verbose=0), expected, atol=ACT_ATOL)
    m_model.save(tmp_path / "from_minikeras.keras")
    k_loaded = keras.models.load_model(tmp_path / "from_minikeras.keras")
    assert [op.name for op in k_loaded.operations] == [op.name for op in m_model.operations]
    np.testing.assert_allclose(np.asarray(k_loaded.predict(xs, verbose=0)), expected,
                               atol=ACT_ATOL)

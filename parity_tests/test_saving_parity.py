"""Weight files cross between Keras and minikeras, both ways.

For each architecture (Dense, Conv2D, LSTM + TimeDistributed, SimpleRNN/GRU, and a functional
graph with a nested model and a shared layer) the test builds the same model on both sides:

* Keras writes ``.weights.h5``; minikeras loads it; predictions agree to 1e-6;
* minikeras writes ``.weights.h5`` (after training a step, so the file differs from the
  Keras initial weights); Keras loads it; predictions agree to 1e-6;
* the optimizer state crosses too: after loading the other side's file (weights *and* Adam /
  RMSprop state), the next ``train_on_batch`` gives the same loss and the same weights;
* a Keras ``.keras`` file loads with ``minikeras.models.load_model`` (architecture, weights,
  compiled optimizer state).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras

pytestmark = pytest.mark.parity

rng = np.random.default_rng(7)


def _dense(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((6,)), L.Dense(5, activation="relu"),
                          L.Dense(3, activation="softmax")])


def _conv(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((8, 8, 2)), L.Conv2D(3, (3, 3), activation="relu"),
                          L.MaxPooling2D(), L.Flatten(), L.Dense(2)])


def _lstm(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((5, 3)), L.LSTM(4, return_sequences=True),
                          L.TimeDistributed(L.Dense(2))])


def _rnn_gru(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((5, 3)), L.SimpleRNN(4, return_sequences=True), L.GRU(3),
                          L.Dense(2)])


def _graph(fw: Any) -> Any:
    L = fw.layers
    inner = fw.Sequential([fw.Input((4,)), L.Dense(3, activation="tanh")])
    a, b = fw.Input((4,)), fw.Input((4,))
    shared = L.Dense(3)
    s = L.Add()([shared(inner(a)), shared(inner(b))])
    out = L.Dense(2)(L.Concatenate()([s, inner(a)]))
    return fw.Model([a, b], out)


MODELS = {"dense": (_dense, (6,)), "conv": (_conv, (8, 8, 2)), "lstm": (_lstm, (5, 3)),
          "rnn_gru": (_rnn_gru, (5, 3)), "graph": (_graph, None)}


def _data(key: str, n: int = 6) -> Any:
    shape = MODELS[key][1]
    if shape is None:
        return [rng.random((n, 4)).astype("float32"), rng.random((n, 4)).astype("float32")]
    return rng.random((n, *shape)).astype("float32")


def _pair(keras: Any, key: str) -> tuple[Any, Any]:
    keras.backend.clear_session()
    minikeras.backend.clear_session()
    build = MODELS[key][0]
    return build(keras), build(minikeras)


def _close(a: Any, b: Any, atol: float = 1e-6) -> float:
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    gap = max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in
              zip(a, b, strict=True))
    assert gap <= atol, gap
    return gap


@pytest.mark.parametrize("key", list(MODELS))
def test_keras_weights_file_loads_into_minikeras(keras: Any, key: str, tmp_path: Any) -> None:
    k_model, m_model = _pair(keras, key)
    path = str(tmp_path / "k.weights.h5")
    k_model.save_weights(path)
    m_model.load_weights(path)
    x = _data(key)
    _close(k_model.predict(x, verbose=0), m_model.predict(x, verbose=0))


@pytest.mark.parametrize("key", list(MODELS))
def test_minikeras_weights_file_loads_into_keras(keras: Any, key: str, tmp_path: Any) -> None:
    k_model, m_model = _pair(keras, key)
    x = _data(key)
    m_model.compile("sgd", "mse")
    y = m_model.predict(x, verbose=0) + 1.0
    m_model.train_on_batch(x, y)                       # so the weights are not Keras' own
    path = str(tmp_path / "m.weights.h5")
    m_model.save_weights(path)
    k_model.load_weights(path)
    _close(k_model.predict(x, verbose=0), m_model.predict(x, verbose=0))


def _optimizer(fw: Any, kind: str) -> Any:
    if kind == "adam":
        return fw.optimizers.Adam(learning_rate=0.01)
    if kind == "rmsprop":
        return fw.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True)
    return fw.optimizers.SGD(learning_rate=0.01, momentum=0.9)


@pytest.mark.parametrize("key,kind", [("dense", "adam"), ("dense", "rmsprop"), ("dense", "sgd"),
                                      ("lstm", "adam")])
@pytest.mark.parametrize("direction", ["keras->minikeras", "minikeras->keras"])
def test_optimizer_state_crosses(keras: Any, key: str, kind: str, direction: str,
                                 tmp_path: Any) -> None:
    """Train 2 steps on one side, save, load on the other: the 3rd step is the same."""
    k_model, m_model = _pair(keras, key)
    m_model.set_weights(k_model.get_weights())
    x = _data(key, 8)
    y = (np.asarray(k_model.predict(x, verbose=0)) + 0.5).astype("float32")
    for model, fw in ((k_model, keras), (m_model, minikeras)):
        model.compile(_optimizer(fw, kind), "mse")
        model.train_on_batch(x[:4], y[:4])            # both optimizers built
    src, dst = (k_model, m_model) if direction == "keras->minikeras" else (m_model, k_model)
    src.train_on_batch(x[4:], y[4:])
    path = str(tmp_path / "s.weights.h5")
    src.save_weights(path)
    dst.load_weights(path)
    assert int(np.asarray(dst.optimizer.iterations)) == 2
    losses = [float(np.asarray(m.train_on_batch(x, y))) for m in (k_model, m_model)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    _close(k_model.get_weights(), m_model.get_weights(), atol=1e-5)


def test_keras_dot_keras_file_loads(keras: Any, tmp_path: Any) -> None:
    keras.backend.clear_session()
    k_model = _graph(keras)
    k_model.compile(keras.optimizers.Adam(learning_rate=0.01), "mse")
    x, y = _data("graph", 8), rng.random((8, 2)).astype("float32")
    k_model.train_on_batch(x, y)
    path = str(tmp_path / "k.keras")
    k_model.save(path)
    m_model = minikeras.models.load_model(path)
    assert [la.name for la in m_model.layers] == [la.name for la in k_model.layers]
    _close(k_model.predict(x, verbose=0), m_model.predict(x, verbose=0))
    assert m_model.optimizer.iterations == 1
    losses = [float(np.asarray(m.train_on_batch(x, y))) for m in (k_model, m_model)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    _close(k_model.get_weights(), m_model.get_weights(), atol=1e-5)


def test_minikeras_dot_keras_file_loads_into_keras(keras: Any, tmp_path: Any) -> None:
    minikeras.backend.clear_session()
    m_model = _dense(minikeras)
    m_model.compile(minikeras.optimizers.Adam(learning_rate=0.01), "categorical_crossentropy",
                    metrics=["accuracy"])
    x, y = _data("dense", 8), np.eye(3)[rng.integers(0, 3, 8)]
    m_model.train_on_batch(x, y)
    path = str(tmp_path / "m.keras")
    m_model.save(path)
    k_model = keras.models.load_model(path)
    _close(k_model.predict(x, verbose=0), m_model.predict(x, verbose=0))
    assert int(k_model.optimizer.iterations) == 1
    k_loss = float(np.asarray(k_model.train_on_batch(x, y)[0]))
    np.testing.assert_allclose(k_loss, m_model.train_on_batch(x, y)[0], rtol=1e-5)


def test_legacy_h5_both_ways(keras: Any, tmp_path: Any) -> None:
    k_model, m_model = _pair(keras, "graph")
    x = _data("graph")
    k_model.save(str(tmp_path / "k.h5"))
    _close(k_model.predict(x, verbose=0),
           minikeras.models.load_model(str(tmp_path / "k.h5")).predict(x, verbose=0))
    with pytest.warns(UserWarning, match="legacy"):
        m_model.save(str(tmp_path / "m.h5"))
    _close(keras.models.load_model(str(tmp_path / "m.h5")).predict(x, verbose=0),
           m_model.predict(x, verbose=0))

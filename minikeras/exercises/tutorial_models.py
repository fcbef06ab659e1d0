"""Stage 4: the tutorial model that uses the learner's piece, trained with it in place.

The six tutorial models are described here once more, because ``tutorials/`` and
``parity_tests/`` are not installed with the package (a test checks that these definitions
build the same layers as ``parity_tests/models.py``). Each ``build(fw)`` takes a framework
namespace with Keras' public names (``fw.Sequential``, ``fw.layers.Dense``...): real
``keras``, ``minikeras``, or minikeras with the learner's class swapped in (``Swapped``).

How the run is judged: all runs start from the same initial weights and see the same
batches. With Keras installed, the learner's model (float32) is compared with Keras, and the
difference in the final weights must stay within max(1e-5, 3 x the drift of Keras against
itself started one float32 ulp away): the rule of ``parity_report.md`` (the CNN is chaotic
in float32, so a bare tolerance would be either too tight or too loose). Without Keras, the
same in float64 against minikeras' own piece, with a float64 ulp and a 1e-9 floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

SEED = 1234


@dataclass(frozen=True)
class Tutorial:
    key: str
    title: str
    build: Callable[[Any], Any]
    optimizer: Callable[[Any], Any]
    loss: str
    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    batch_size: int
    stateful: bool = False


class _Proxy:
    def __init__(self, base: Any, swaps: dict[str, Any]) -> None:
        self._base, self._swaps = base, swaps

    def __getattr__(self, name: str) -> Any:
        return self._swaps[name] if name in self._swaps else getattr(self._base, name)


class Swapped:
    """``fw`` with some classes replaced: ``{"layers.LSTM": MyLSTM, "optimizers.Adam": ...}``."""

    def __init__(self, fw: Any, swaps: dict[str, Any]) -> None:
        self._fw = fw
        self.layers = _Proxy(fw.layers, {k[7:]: v for k, v in swaps.items()
                                         if k.startswith("layers.")})
        self.optimizers = _Proxy(fw.optimizers, {k[11:]: v for k, v in swaps.items()
                                                 if k.startswith("optimizers.")})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fw, name)


# --------------------------------------------------------------------------- data
@lru_cache(maxsize=1)
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    """The first 2,000 images of the MNIST test split shipped with minikeras (the same on
    every machine, whatever $MINIKERAS_MNIST_DIR says), /255, labels one-hot."""
    from minikeras.datasets import mnist
    from minikeras.datasets.idx import load_idx_pair

    x, y = load_idx_pair(mnist.PACKAGE_DIR / mnist.TEST_IMAGES,
                         mnist.PACKAGE_DIR / mnist.TEST_LABELS)
    x, y = x[:2000], y[:2000]
    return (x.astype(np.float32) / 255.0), np.eye(10, dtype=np.float32)[y]


def _mnist_as(shape: tuple[int, ...]) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def data() -> tuple[np.ndarray, np.ndarray]:
        x, y = _mnist()
        return x.reshape(len(x), *shape), y
    return data


def _regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(SEED)
    x = np.linspace(-1, 1, 200)
    rng.shuffle(x)
    y = 0.5 * x + 2 + rng.normal(0, 0.05, (200,))
    return x.astype(np.float32)[:160, None], y.astype(np.float32)[:160, None]


def _sincos(windows: int = 40, batch: int = 50, steps: int = 20) -> tuple[np.ndarray, ...]:
    """Row w*50+b is window w of stream b: the stateful LSTM carries each stream along."""
    rng = np.random.RandomState(SEED)
    t = rng.uniform(0, 2 * math.pi, (batch, 1)) + 0.1 * np.arange(windows * steps)[None, :]

    def cut(a: np.ndarray) -> np.ndarray:
        return (a.reshape(batch, windows, steps).transpose(1, 0, 2)
                .reshape(-1, steps, 1).astype(np.float32))
    return cut(np.sin(t)), cut(np.cos(t))


# --------------------------------------------------------------------------- the models
def _regression_model(fw: Any) -> Any:
    return fw.Sequential([fw.Input((1,)), fw.layers.Dense(1)])


def _mlp(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((784,)), L.Dense(32, activation="relu"),
                          L.Dense(10, activation="softmax")])


def _mlp_bn(fw: Any) -> Any:
    """The MLP with a BatchNormalization after its hidden layer (no tutorial normalises)."""
    L = fw.layers
    return fw.Sequential([fw.Input((784,)), L.Dense(32, activation="relu"),
                          L.BatchNormalization(), L.Dense(10, activation="softmax")])


def _cnn(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([
        fw.Input((28, 28, 1)),
        L.Conv2D(32, 5, padding="same", activation="relu"),
        L.MaxPooling2D((2, 2), (2, 2), padding="same"),
        L.Conv2D(64, 5, padding="same", activation="relu"),
        L.MaxPooling2D((2, 2), (2, 2), padding="same"),
        L.Flatten(),
        L.Dense(1024, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])


def _rnn(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input((28, 28)), L.SimpleRNN(50), L.Dense(10, activation="softmax")])


def _lstm(fw: Any) -> Any:
    L = fw.layers
    return fw.Sequential([fw.Input(batch_shape=(50, 20, 1)),
                          L.LSTM(20, return_sequences=True, stateful=True),
                          L.TimeDistributed(L.Dense(1))])


def _gru(fw: Any) -> Any:
    """The stateful LSTM tutorial with a GRU in the LSTM's place (no tutorial uses a GRU)."""
    L = fw.layers
    return fw.Sequential([fw.Input(batch_shape=(50, 20, 1)),
                          L.GRU(20, return_sequences=True, stateful=True),
                          L.TimeDistributed(L.Dense(1))])


def _autoencoder(fw: Any) -> Any:
    L = fw.layers
    inp = fw.Input((784,))
    h = inp
    for units in (128, 64, 10):
        h = L.Dense(units, activation="relu")(h)
    h = L.Dense(2)(h)
    for units in (10, 64, 128):
        h = L.Dense(units, activation="relu")(h)
    return fw.Model(inp, L.Dense(784, activation="tanh")(h))


def _autoencoder_data() -> tuple[np.ndarray, np.ndarray]:
    x, _ = _mnist()
    x = x.reshape(len(x), 784)
    return x, x


TUTORIALS: dict[str, Tutorial] = {t.key: t for t in [
    Tutorial("regression", "1 Regression Dense(1), SGD(0.01)", _regression_model,
             lambda fw: fw.optimizers.SGD(learning_rate=0.01), "mse", _regression, 160),
    Tutorial("mlp", "2 MLP 784-32-10, RMSprop(0.001)", _mlp,
             lambda fw: fw.optimizers.RMSprop(learning_rate=0.001), "categorical_crossentropy",
             _mnist_as((784,)), 32),
    Tutorial("mlp_bn", "2 MLP + BatchNormalization after the hidden layer, RMSprop(0.001)",
             _mlp_bn, lambda fw: fw.optimizers.RMSprop(learning_rate=0.001),
             "categorical_crossentropy", _mnist_as((784,)), 32),
    Tutorial("cnn", "3 CNN Conv-pool-Conv-pool-Dense, Adam(1e-4)", _cnn,
             lambda fw: fw.optimizers.Adam(learning_rate=1e-4), "categorical_crossentropy",
             _mnist_as((28, 28, 1)), 64),
    Tutorial("rnn", "4 SimpleRNN(50) over 28 rows, Adam(0.001)", _rnn,
             lambda fw: fw.optimizers.Adam(learning_rate=0.001), "categorical_crossentropy",
             _mnist_as((28, 28)), 50),
    Tutorial("lstm", "5 Stateful LSTM(20) sin->cos, Adam(0.006)", _lstm,
             lambda fw: fw.optimizers.Adam(learning_rate=0.006), "mse", _sincos, 50,
             stateful=True),
    Tutorial("autoencoder", "6 Autoencoder 784-...-2-...-784, Adam", _autoencoder,
             lambda fw: fw.optimizers.Adam(), "mse", _autoencoder_data, 256),
    Tutorial("gru", "5 Stateful LSTM tutorial with GRU(20) in the LSTM's place, Adam(0.006)",
             _gru, lambda fw: fw.optimizers.Adam(learning_rate=0.006), "mse", _sincos, 50,
             stateful=True),
]}


# --------------------------------------------------------------------------- training
def _reset_states(model: Any) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


def train(tut: Tutorial, fw: Any, init: list[np.ndarray] | None, steps: int,
          dtype: str = "float32", loss: Any = None,
          optimizer: Callable[[Any], Any] | None = None) -> tuple[list[np.ndarray], list[float]]:
    """Train ``steps`` batches (in order, no shuffle) from ``init``; return weights, losses."""
    is_keras = getattr(fw, "__name__", "") == "keras"
    base = fw if is_keras else getattr(fw, "_fw", fw)
    base.backend.clear_session()
    base.utils.set_random_seed(SEED)
    saved = None if is_keras else base.backend.floatx()
    if not is_keras:
        base.backend.set_floatx(dtype)
    try:
        model = tut.build(fw)
        model.compile(optimizer=(optimizer or tut.optimizer)(fw), loss=loss or tut.loss)
        if init is not None:
            model.set_weights([w.astype(dtype) for w in init])
        x, y = tut.data()
        x, y = x.astype(dtype), y.astype(dtype)
        n, b = len(x), tut.batch_size
        starts = list(range(0, n, b))
        losses = []
        for step in range(steps):
            s = starts[step % len(starts)]
            if tut.stateful and s == 0:
                _reset_states(model)
            out = model.train_on_batch(x[s:s + b], y[s:s + b])
            losses.append(float(np.ravel(np.asarray(out))[0]))
        return [np.array(w, dtype=np.float64) for w in model.get_weights()], losses
    finally:
        if saved is not None:
            base.backend.set_floatx(saved)


def initial_weights(tut: Tutorial) -> list[np.ndarray]:
    import minikeras

    minikeras.backend.clear_session()
    minikeras.utils.set_random_seed(SEED)
    return [np.array(w) for w in tut.build(minikeras).get_weights()]


def one_ulp(weights: list[np.ndarray], dtype: str) -> list[np.ndarray]:
    return [np.nextafter(w.astype(dtype), np.array(np.inf, dtype)) for w in weights]


_RUNS: dict[tuple, tuple[list[np.ndarray], list[float]]] = {}


def _cached(key: tuple, run: Callable[[], tuple]) -> tuple[list[np.ndarray], list[float]]:
    if key not in _RUNS:
        _RUNS[key] = run()
    return _RUNS[key]


def max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


def judge(key: str, swaps: dict[str, Any], keras: Any, steps: int, loss: Any = None,
          optimizer: tuple[str, Callable[[Any], Any]] | None = None) -> tuple[bool, list[str]]:
    """Train the learner's version of tutorial ``key``; (passed, report lines).

    ``optimizer``: (label, fw -> optimizer) to train with instead of the tutorial's own
    (both sides); ``loss``: the learner's loss object (the other side uses the name)."""
    import minikeras

    tut = TUTORIALS[key]
    init = initial_weights(tut)
    fw = Swapped(minikeras, swaps)
    label, opt = optimizer or ("", None)
    if keras is not None:
        dtype, floor, other = "float32", 1e-5, "Keras"
        mine = train(tut, fw, init, steps, dtype, loss, opt)
        ref = _cached((key, steps, label, "keras"),
                      lambda: train(tut, keras, init, steps, optimizer=opt))
        ulp = _cached((key, steps, label, "keras+ulp"),
                      lambda: train(tut, keras, one_ulp(init, dtype), steps, optimizer=opt))
    else:
        dtype, floor, other = "float64", 1e-9, "minikeras' own piece (float64)"
        mine = train(tut, fw, init, steps, dtype, loss, opt)
        ref = _cached((key, steps, label, "mk64"),
                      lambda: train(tut, minikeras, init, steps, dtype, optimizer=opt))
        ulp = _cached((key, steps, label, "mk64+ulp"),
                      lambda: train(tut, minikeras, one_ulp(init, dtype), steps, dtype,
                                    optimizer=opt))
    if not all(math.isfinite(v) for v in mine[1]):
        return False, [f"{tut.title}: the loss became {mine[1][-1]} during training."]
    diff, envelope = max_diff(mine[0], ref[0]), max_diff(ref[0], ulp[0])
    limit = max(floor, 3 * envelope)
    title = f"{tut.title} (here with {label})" if label else tut.title
    lines = [f"{title}, {steps} steps ({dtype}): final weights differ from {other} by "
             f"{diff:.1e}; {other.split(' ')[0]} against itself one ulp away drifts "
             f"{envelope:.1e}; limit max({floor:g}, 3 x drift) = {limit:.1e}",
             f"last loss {mine[1][-1]:.6g} (yours) vs {ref[1][-1]:.6g} ({other.split(' ')[0]})"]
    return diff <= limit, lines

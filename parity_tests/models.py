"""The six tutorial models, each described once and built in either framework.

``build(fw)`` receives a framework module, ``keras`` or ``minikeras``: both have the same public
names (``fw.Sequential``, ``fw.Model``, ``fw.Input``, ``fw.layers.Dense``, ``fw.optimizers.Adam``),
so one function builds the model in both and the two cannot drift apart. The CNN is described
twice, once per data format. ``ci_steps`` is what the pytest suite trains (it must run on 2 cores
within the CI budget); ``long_steps`` is what ``python -m parity_tests.report --long`` trains.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity_tests.harness import SEED, Data, mnist_data, reset_states


@dataclass
class Built:
    """The model to train, plus any other model that shares its layers (the encoder)."""

    model: Any
    others: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    key: str
    title: str
    needs: tuple[str, ...]                  # minikeras attributes this model needs
    build: Callable[[Any], Built]
    optimizer: Callable[[Any], Any]
    loss: str
    metrics: tuple[str, ...]
    data: Callable[[], Data]
    batch_size: int
    ci_steps: int
    long_steps: int
    eval_batch_size: int = 256
    stateful: bool = False
    probe: Callable[[Built, Data], dict[str, np.ndarray]] | None = None
    notes: str = ""


def missing_parts(spec: ModelSpec, minikeras: Any) -> list[str]:
    """The dotted names in ``spec.needs`` that minikeras does not have (yet)."""
    missing = []
    for dotted in spec.needs:
        obj = minikeras
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                missing.append(dotted)
                break
    return missing


def _predict_probe(built: Built, data: Data) -> dict[str, np.ndarray]:
    return {"predict(x_eval)": built.model.predict(data.x_eval, batch_size=256, verbose=0)}


# --------------------------------------------------------------------------- 1 regression
def regression_data() -> Data:
    """The classic tutorial: 200 points of y = 0.5 x + 2 + N(0, 0.05), first 160 to train."""
    rng = np.random.RandomState(SEED)
    x = np.linspace(-1, 1, 200)
    rng.shuffle(x)
    y = 0.5 * x + 2 + rng.normal(0, 0.05, (200,))
    x, y = x.astype(np.float32)[:, None], y.astype(np.float32)[:, None]
    return Data(x[:160], y[:160], x[160:], y[160:], "200 points y = 0.5x + 2 + noise, 160/40")


def build_regression(fw: Any) -> Built:
    return Built(fw.Sequential([fw.Input((1,)), fw.layers.Dense(1)]))


# --------------------------------------------------------------------------- 2 MLP
def build_mlp(fw: Any) -> Built:
    L = fw.layers
    return Built(fw.Sequential([fw.Input((784,)), L.Dense(32, activation="relu"),
                                L.Dense(10, activation="softmax")]))


# --------------------------------------------------------------------------- 3 CNN
def build_cnn(data_format: str) -> Callable[[Any], Built]:
    """Conv(32,5,same)-relu-pool-Conv(64,5,same)-relu-pool-Flatten-Dense(1024)-relu-Dense(10).

    Flatten keeps its default (the global channels_last), so after a channels_first stack it
    flattens in (C, H, W) order, exactly as Keras does; the Dense weights then mean the same."""
    shape = (1, 28, 28) if data_format == "channels_first" else (28, 28, 1)

    def build(fw: Any) -> Built:
        L = fw.layers
        return Built(fw.Sequential([
            fw.Input(shape),
            L.Conv2D(32, 5, padding="same", activation="relu", data_format=data_format),
            L.MaxPooling2D((2, 2), (2, 2), padding="same", data_format=data_format),
            L.Conv2D(64, 5, padding="same", activation="relu", data_format=data_format),
            L.MaxPooling2D((2, 2), (2, 2), padding="same", data_format=data_format),
            L.Flatten(),
            L.Dense(1024, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]))

    return build


# --------------------------------------------------------------------------- 4 RNN
def build_rnn(fw: Any) -> Built:
    L = fw.layers
    return Built(fw.Sequential([fw.Input((28, 28)), L.SimpleRNN(50),
                                L.Dense(10, activation="softmax")]))


# --------------------------------------------------------------------------- 5 stateful LSTM
LSTM_BATCH, LSTM_T = 50, 20


def sincos_data(train_windows: int = 40, eval_windows: int = 10, dt: float = 0.1) -> Data:
    """50 parallel streams of sin(t) -> cos(t), each starting at its own phase, cut into
    consecutive windows of 20 steps. Row ``w * 50 + b`` is window ``w`` of stream ``b``, so
    batch ``w`` of an unshuffled pass holds window ``w`` of every stream and the stateful LSTM
    carries each stream's state from one batch into the next (the sliding batches)."""
    rng = np.random.RandomState(SEED)
    B, T = LSTM_BATCH, LSTM_T
    total = (train_windows + eval_windows) * T
    t = rng.uniform(0, 2 * math.pi, (B, 1)) + dt * np.arange(total)[None, :]

    def windows(a: np.ndarray, w0: int, w1: int) -> np.ndarray:
        part = a[:, w0 * T:w1 * T].reshape(B, w1 - w0, T)
        return part.transpose(1, 0, 2).reshape(-1, T, 1).astype(np.float32)

    sin, cos = np.sin(t), np.cos(t)
    w = train_windows
    return Data(windows(sin, 0, w), windows(cos, 0, w), windows(sin, w, w + eval_windows),
                windows(cos, w, w + eval_windows),
                f"50 phase-shifted sin->cos streams, {train_windows}+{eval_windows} windows of 20")


def build_lstm(fw: Any) -> Built:
    L = fw.layers
    return Built(fw.Sequential([
        fw.Input(batch_shape=(LSTM_BATCH, LSTM_T, 1)),
        L.LSTM(20, return_sequences=True, stateful=True),
        L.TimeDistributed(L.Dense(1)),
    ]))


def _lstm_probe(built: Built, data: Data) -> dict[str, np.ndarray]:
    reset_states(built.model)
    out = built.model.predict(data.x_eval, batch_size=LSTM_BATCH, verbose=0)
    return {"predict(x_eval), stateful": out}


# --------------------------------------------------------------------------- 6 autoencoder
def build_autoencoder(fw: Any) -> Built:
    """784-128-64-10-2 encoder (relu, linear 2-D code) and 2-10-64-128-784 decoder (tanh out);
    ``encoder`` is a second functional model over the same layers (shared weights)."""
    L = fw.layers
    inp = fw.Input((784,))
    h = L.Dense(128, activation="relu")(inp)
    h = L.Dense(64, activation="relu")(h)
    h = L.Dense(10, activation="relu")(h)
    code = L.Dense(2)(h)
    h = L.Dense(10, activation="relu")(code)
    h = L.Dense(64, activation="relu")(h)
    h = L.Dense(128, activation="relu")(h)
    out = L.Dense(784, activation="tanh")(h)
    return Built(fw.Model(inp, out), {"encoder": fw.Model(inp, code)})


def _autoencoder_probe(built: Built, data: Data) -> dict[str, np.ndarray]:
    encoder = built.others["encoder"]
    codes = encoder.predict(data.x_eval, batch_size=256, verbose=0)
    # The encoder owns no weights of its own: its 8 arrays are the autoencoder's first 8.
    shared = [np.asarray(w) for w in encoder.get_weights()]
    full = [np.asarray(w) for w in built.model.get_weights()]
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(shared, full[:len(shared)],
                                                           strict=True))
    return {"encoder.predict(x_eval)": codes,
            "encoder vs autoencoder weights": np.array([gap, len(shared)], np.float64)}


# --------------------------------------------------------------------------- the list
SPECS: dict[str, ModelSpec] = {s.key: s for s in [
    ModelSpec("regression", "1 Regression Dense(1), SGD(0.01), full batch",
              ("Sequential", "optimizers.SGD"), build_regression,
              lambda fw: fw.optimizers.SGD(learning_rate=0.01), "mse", (), regression_data,
              batch_size=160, ci_steps=301, long_steps=301, eval_batch_size=40,
              probe=_predict_probe),
    ModelSpec("mlp", "2 MLP 784-32-10, RMSprop(0.001), batch 32",
              ("Sequential", "optimizers.RMSprop"), build_mlp,
              lambda fw: fw.optimizers.RMSprop(learning_rate=0.001), "categorical_crossentropy",
              ("accuracy",), lambda: mnist_data((784,)), batch_size=32, ci_steps=250,
              long_steps=1250, probe=_predict_probe),
    ModelSpec("cnn_channels_last", "3a CNN (28,28,1) channels_last, Adam(1e-4), batch 64",
              ("Sequential", "optimizers.Adam", "layers.Conv2D", "layers.MaxPooling2D"),
              build_cnn("channels_last"), lambda fw: fw.optimizers.Adam(learning_rate=1e-4),
              "categorical_crossentropy", ("accuracy",), lambda: mnist_data((28, 28, 1)),
              batch_size=64, ci_steps=20, long_steps=100),
    ModelSpec("cnn_channels_first", "3b CNN (1,28,28) channels_first, Adam(1e-4), batch 64",
              ("Sequential", "optimizers.Adam", "layers.Conv2D", "layers.MaxPooling2D"),
              build_cnn("channels_first"), lambda fw: fw.optimizers.Adam(learning_rate=1e-4),
              "categorical_crossentropy", ("accuracy",), lambda: mnist_data((1, 28, 28)),
              batch_size=64, ci_steps=20, long_steps=100),
    ModelSpec("rnn", "4 SimpleRNN(50) over 28 rows, Adam(0.001), batch 50",
              ("Sequential", "optimizers.Adam", "layers.SimpleRNN"), build_rnn,
              lambda fw: fw.optimizers.Adam(learning_rate=0.001), "categorical_crossentropy",
              ("accuracy",), lambda: mnist_data((28, 28)), batch_size=50, ci_steps=160,
              long_steps=480, probe=_predict_probe),
    ModelSpec("lstm", "5 Stateful LSTM(20) sin->cos, Adam(0.006), batch 50x20x1",
              ("Sequential", "optimizers.Adam", "layers.LSTM", "layers.TimeDistributed"),
              build_lstm, lambda fw: fw.optimizers.Adam(learning_rate=0.006), "mse", (),
              sincos_data, batch_size=LSTM_BATCH, ci_steps=120, long_steps=400,
              eval_batch_size=LSTM_BATCH, stateful=True, probe=_lstm_probe),
    ModelSpec("autoencoder", "6 Autoencoder 784-...-2-...-784, Adam, batch 256",
              ("Model", "Input", "optimizers.Adam"), build_autoencoder,
              lambda fw: fw.optimizers.Adam(), "mse", (), lambda: mnist_data((784,), True),
              batch_size=256, ci_steps=128, long_steps=640, probe=_autoencoder_probe),
]}


def build_compiled(key: str, fw: Any, metrics: bool = True) -> Any:
    """Tutorial model ``key`` built in ``fw`` (``minikeras`` or ``keras``) and compiled with
    its tutorial's optimizer, loss and (unless ``metrics=False``) metrics: the one definition
    that the benchmarks and the GPU check build too."""
    spec = SPECS[key]
    model = spec.build(fw).model
    model.compile(optimizer=spec.optimizer(fw), loss=spec.loss,
                  metrics=list(spec.metrics) if metrics else None)
    return model

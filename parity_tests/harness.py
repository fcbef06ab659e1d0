"""The side-by-side training harness: one model description, two frameworks, same batches.

A run of one model (described in ``parity_tests/models.py``) goes like this:

1. build the model on the *source* side (Keras, or minikeras for the reverse direction) and
   read its freshly initialised weights with ``get_weights()``;
2. build the same model on the other side and copy those weights in with ``set_weights()``:
   NumPy cannot reproduce TensorFlow's random initial values, so both sides must start from
   one set of arrays;
3. feed both sides the *same* batches, in the same order (no shuffling), one
   ``train_on_batch`` per step, recording the returned loss and metrics (computed on the
   pre-update weights, as Keras does) and every weight at the checkpoint steps;
4. evaluate both on held-out data and run the model's probes (extra predictions to compare).

``compare`` then reduces the two runs to the numbers the tests assert and the report prints.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_TRAIN, N_EVAL = 8000, 2000
SEED = 1234


# --------------------------------------------------------------------------- frameworks
def import_keras() -> Any:
    """Import real Keras on TensorFlow (CPU) with the settings every parity run pins."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    pin_settings(keras)
    return keras


def import_minikeras() -> Any:
    import minikeras

    pin_settings(minikeras)
    return minikeras


def is_keras(fw: Any) -> bool:
    return fw.__name__ == "keras"


def pin_settings(fw: Any) -> None:
    """float32, epsilon 1e-7, channels_last: the defaults, pinned so a keras.json can't move them.
    (Models that want channels_first pass ``data_format=`` to their layers.)"""
    if is_keras(fw):
        fw.config.set_floatx("float32")
        fw.config.set_epsilon(1e-7)
        fw.config.set_image_data_format("channels_last")
    else:
        fw.backend.set_floatx("float32")
        fw.backend.set_epsilon(1e-7)
        fw.backend.set_image_data_format("channels_last")


def fresh_session(fw: Any, seed: int) -> None:
    """Reset auto-names and seed the initialisers, so a run is reproducible on its own."""
    fw.backend.clear_session()
    pin_settings(fw)
    fw.utils.set_random_seed(seed)


# --------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test split (10,000 images, uint8), through minikeras' one IDX reader:
    the copy shipped in ``minikeras/datasets/data`` (or ``$MINIKERAS_MNIST_DIR``)."""
    from minikeras.datasets import mnist

    return mnist.load_test_split()


def one_hot(labels: np.ndarray, n: int = 10) -> np.ndarray:
    return np.eye(n, dtype=np.float32)[labels]


@dataclass
class Data:
    """Training arrays (fed in order, in batches) and held-out arrays (for ``evaluate``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    description: str = ""


def mnist_data(shape: tuple[int, ...], autoencoder: bool = False) -> Data:
    """8,000 images to train on and 2,000 to evaluate on (the offline test split), /255."""
    images, labels = load_mnist()
    x = (images.astype(np.float32) / 255.0).reshape(len(images), *shape)
    y = x if autoencoder else one_hot(labels)
    return Data(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:N_TRAIN + N_EVAL], y[N_TRAIN:N_TRAIN + N_EVAL],
                "real MNIST test split: first 8,000 train, last 2,000 evaluate")


@dataclass
class Batch:
    x: np.ndarray
    y: np.ndarray
    epoch: int
    first_of_epoch: bool


def epoch_batches(data: Data, batch_size: int, steps: int) -> Iterator[Batch]:
    """Consecutive slices of the training set, epoch after epoch, as ``fit(shuffle=False)``
    cuts them (the last batch of an epoch may be partial)."""
    n = len(data.x_train)
    starts = list(range(0, n, batch_size))
    step = 0
    epoch = 0
    while step < steps:
        for i, s in enumerate(starts):
            if step >= steps:
                return
            yield Batch(data.x_train[s:s + batch_size], data.y_train[s:s + batch_size], epoch,
                        i == 0)
            step += 1
        epoch += 1


# --------------------------------------------------------------------------- one side
@dataclass
class SideRun:
    """Everything one framework did during one run."""

    framework: str
    losses: np.ndarray                      # (steps,) train_on_batch losses
    metrics: np.ndarray                     # (steps, n_metrics)
    checkpoints: dict[int, list[np.ndarray]]  # step -> all weights after that many steps
    evaluation: list[float]                 # [loss, *metrics] on the held-out data
    probes: dict[str, np.ndarray]           # model-specific extra outputs
    train_s: float                          # wall time of the train_on_batch calls
    eval_s: float                           # wall time of evaluate + probes
    initial_weights: list[np.ndarray] = field(default_factory=list)


def reset_states(model: Any) -> None:
    """Zero the state of every stateful layer (Keras 3 has no ``model.reset_states()``)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


def run_side(spec: Any, fw: Any, data: Data, steps: int, checkpoints: set[int],
             init_weights: list[np.ndarray] | None, seed: int = SEED) -> SideRun:
    """Build ``spec`` in ``fw``, start from ``init_weights`` (or its own fresh ones), train."""
    fresh_session(fw, seed)
    built = spec.build(fw)
    model = built.model
    model.compile(optimizer=spec.optimizer(fw), loss=spec.loss, metrics=list(spec.metrics))
    if init_weights is None:
        init_weights = [np.array(w) for w in model.get_weights()]
    else:
        model.set_weights(init_weights)
    losses, metrics, ckpt = [], [], {}
    train_s = 0.0
    for step, batch in enumerate(epoch_batches(data, spec.batch_size, steps), start=1):
        if spec.stateful and batch.first_of_epoch:
            reset_states(model)
        t0 = time.perf_counter()
        out = model.train_on_batch(batch.x, batch.y)
        train_s += time.perf_counter() - t0
        values = np.atleast_1d(np.asarray(out, dtype=np.float64))
        losses.append(values[0])
        metrics.append(values[1:])
        if step in checkpoints:
            ckpt[step] = [np.array(w) for w in model.get_weights()]
    t0 = time.perf_counter()
    if spec.stateful:
        reset_states(model)
    evaluation = model.evaluate(data.x_eval, data.y_eval, batch_size=spec.eval_batch_size,
                                verbose=0)
    probes = spec.probe(built, data) if spec.probe else {}
    eval_s = time.perf_counter() - t0
    return SideRun(
        framework="keras" if is_keras(fw) else "minikeras",
        losses=np.asarray(losses), metrics=np.asarray(metrics).reshape(len(losses), -1),
        checkpoints=ckpt, evaluation=[float(v) for v in np.atleast_1d(evaluation)],
        probes={k: np.asarray(v) for k, v in probes.items()},
        train_s=train_s, eval_s=eval_s, initial_weights=init_weights,
    )


# --------------------------------------------------------------------------- both sides
def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    if len(a) != len(b):
        raise ValueError(f"weight lists differ in length: {len(a)} vs {len(b)}")
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
               for x, y in zip(a, b, strict=True))


@dataclass
class Comparison:
    """One model trained on both sides, and the differences the tests and report need."""

    key: str
    title: str
    direction: str                  # "keras->minikeras" or "minikeras->keras"
    steps: int
    keras: SideRun
    mini: SideRun
    metric_names: tuple[str, ...]
    loss_rel: np.ndarray = field(init=False)       # per step |k - m| / |k|
    weight_diff: dict[int, float] = field(init=False)  # checkpoint step -> max |k - m|
    probe_diff: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        k, m = self.keras.losses, self.mini.losses
        self.loss_rel = np.abs(k - m) / np.maximum(np.abs(k), 1e-30)
        self.weight_diff = {s: max_abs_diff(self.keras.checkpoints[s], self.mini.checkpoints[s])
                            for s in sorted(self.keras.checkpoints)}
        self.probe_diff = {name: float(np.max(np.abs(self.keras.probes[name].astype(np.float64)
                                                      - self.mini.probes[name])))
                           for name in self.keras.probes}

    def max_loss_rel(self, upto: int | None = None) -> float:
        return float(np.max(self.loss_rel[:upto]))

    def first_exceeding(self, rtol: float) -> int | None:
        """The first step (1-based) whose loss differs by more than ``rtol``, if any."""
        bad = np.nonzero(self.loss_rel > rtol)[0]
        return int(bad[0]) + 1 if len(bad) else None

    @property
    def metric_diff(self) -> np.ndarray:
        """Per step, per metric |k - m| (e.g. batch accuracy)."""
        return np.abs(self.keras.metrics - self.mini.metrics)

    @property
    def final_weight_diff(self) -> float:
        return self.weight_diff[max(self.weight_diff)]


def compare(spec: Any, keras: Any, minikeras: Any, steps: int,
            checkpoints: tuple[int, ...] = (), reverse: bool = False,
            seed: int = SEED) -> Comparison:
    """Train ``spec`` for ``steps`` on both sides from the same weights and batches.

    ``reverse=False`` starts from Keras' initial weights; ``reverse=True`` from minikeras'
    (its own initialisers, seeded), copied into Keras. Weights are recorded after each step in
    ``checkpoints`` and after the last step.
    """
    data = spec.data()
    ckpts = {c for c in checkpoints if c <= steps} | {steps}
    if reverse:
        mini = run_side(spec, minikeras, data, steps, ckpts, None, seed)
        k = run_side(spec, keras, data, steps, ckpts, mini.initial_weights, seed)
    else:
        k = run_side(spec, keras, data, steps, ckpts, None, seed)
        mini = run_side(spec, minikeras, data, steps, ckpts, k.initial_weights, seed)
    direction = "minikeras->keras" if reverse else "keras->minikeras"
    return Comparison(spec.key, spec.title, direction, steps, k, mini, tuple(spec.metrics))


def nudge_one_ulp(weights: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Every weight moved by one float32 ulp, up or down at random: the smallest change there is.

    Training Keras from these and from the originals measures how far float32 rounding alone
    carries a run: the yardstick for the drift between Keras and minikeras."""
    rng = np.random.default_rng(seed)
    out = []
    for w in weights:
        towards = np.where(rng.random(w.shape) < 0.5, np.inf, -np.inf).astype(w.dtype)
        out.append(np.nextafter(w, towards).astype(w.dtype))
    return out


def keras_self_drift(spec: Any, keras: Any, steps: int, checkpoints: tuple[int, ...] = (),
                     seed: int = SEED) -> Comparison:
    """Keras against Keras started one ulp away (``mini`` holds the nudged run)."""
    data = spec.data()
    ckpts = {c for c in checkpoints if c <= steps} | {steps}
    a = run_side(spec, keras, data, steps, ckpts, None, seed)
    b = run_side(spec, keras, data, steps, ckpts, nudge_one_ulp(a.initial_weights), seed)
    return Comparison(spec.key, spec.title, "keras->keras+1ulp", steps, a, b, tuple(spec.metrics))

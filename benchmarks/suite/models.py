"""What the suite times for each tutorial model: sizes per round, data, target.

The architectures, optimizers, losses, metrics and batch sizes are not written here: they
come from ``parity_tests/models.py`` (``SPECS``), the one description of the six tutorials
that the parity tests train in Keras and minikeras side by side, so a benchmark cannot time a
model that drifted from its tutorial. This module only adds how much work one round does.

Data are the ones the parity tests use: the real MNIST test split (shipped
in ``minikeras/datasets/data``) for the image models, the tutorials' own generated data for the
regression and the stateful LSTM. Arrays are tiled when a round needs more rows than exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Target:
    """A goal of issue 9 for one model; ``kind`` says which figure it reads.

    * ``ratio``: minikeras / Keras training samples/s (median over rounds) >= ``value``,
      and, when ``beat_torch``, minikeras' training samples/s above PyTorch's;
    * ``gemm_bound``: the GEMM-only bound / minikeras' step time >= ``value``.
    """

    kind: str
    value: float
    beat_torch: bool = False
    predict: float | None = None   # and minikeras / Keras predict samples/s >= this

    def describe(self) -> str:
        if self.kind == "gemm_bound":
            return f">= {self.value:.0%} of the GEMM-only bound"
        text = f"train ratio >= {self.value:g}x"
        if self.predict is not None:
            text += f", predict ratio >= {self.predict:g}x"
        return text + " and faster than PyTorch" if self.beat_torch else text


@dataclass(frozen=True)
class BenchModel:
    key: str
    spec: str                 # key in parity_tests.models.SPECS
    title: str
    train_steps: int          # train_on_batch calls per round
    fit_batches: int          # batches in the one-epoch fit of a round
    predict_batches: int      # batches in the predict of a round
    target: Target
    torch: bool = True        # a PyTorch twin exists (channels_first has none: see below)
    gemm: bool = False        # GEMM-bound model: report the fraction of the GEMM rate

    def sizes(self, quick: bool) -> tuple[int, int, int]:
        """(train steps, fit batches, predict batches) of one round."""
        sizes = (self.train_steps, self.fit_batches, self.predict_batches)
        # Two steps at least, so that a round never measures a single call's jitter.
        return tuple(max(2, n // 4) for n in sizes) if quick else sizes


# The counts give each round roughly half a second to two seconds of the slower framework on
# a 2-core machine, short enough for 5 rounds in a full run; a faster framework repeats each
# call until it has run for ``min_phase_s`` (see the worker), so its rate is steady too.
MODELS: dict[str, BenchModel] = {m.key: m for m in [
    BenchModel("regression", "regression", "1 Regression Dense(1), SGD, batch 160",
               300, 100, 100, Target("ratio", 5.0)),
    BenchModel("mlp", "mlp", "2 MLP 784-32-10, RMSprop, batch 32",
               300, 150, 31, Target("ratio", 3.0, beat_torch=True)),
    BenchModel("cnn", "cnn_channels_last", "3 CNN channels_last, Adam(1e-4), batch 64",
               6, 6, 2, Target("gemm_bound", 0.85), gemm=True),
    # PyTorch computes in NCHW whatever the Keras data format, so its twin of this model
    # would repeat the "cnn" row: it is left out.
    BenchModel("cnn_channels_first", "cnn_channels_first",
               "3b CNN channels_first, Adam(1e-4), batch 64",
               6, 6, 2, Target("gemm_bound", 0.85), torch=False, gemm=True),
    BenchModel("rnn", "rnn", "4 SimpleRNN(50) over 28 rows, Adam, batch 50",
               40, 40, 16, Target("ratio", 2.0)),
    BenchModel("lstm", "lstm", "5 Stateful LSTM(20), Adam(0.006), batch 50x20x1",
               40, 40, 40, Target("ratio", 2.0, beat_torch=True)),
    BenchModel("autoencoder", "autoencoder", "6 Autoencoder 784-...-2-...-784, Adam, batch 256",
               12, 16, 16, Target("ratio", 1.2), gemm=True),
    # Issue 18: the models learners grow into (benchmarks/suite/growth.py).
    BenchModel("convnet", "convnet", "7 keras-io MNIST convnet, Adam, batch 128",
               8, 8, 4, Target("ratio", 0.7, predict=1.0), gemm=True),
    BenchModel("hrnn", "hrnn", "8 keras-io hierarchical RNN, LSTM(128) x2, RMSprop, batch 32",
               6, 6, 4, Target("ratio", 1.0)),
]}
DEFAULT_MODELS = tuple(MODELS)


@dataclass
class Arrays:
    """Everything a worker feeds its model: consecutive training batches, fit and predict."""

    batch: int
    predict_batch: int
    x_train: np.ndarray       # rows cut into consecutive batches by train steps
    y_train: np.ndarray
    x_fit: np.ndarray
    y_fit: np.ndarray
    x_predict: np.ndarray
    stateful: bool

    @property
    def n_train_batches(self) -> int:
        return len(self.x_train) // self.batch

    def train_batch(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s = (i % self.n_train_batches) * self.batch
        return self.x_train[s:s + self.batch], self.y_train[s:s + self.batch]


def _rows(a: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of ``a``, tiled when ``a`` is shorter (contiguous either way)."""
    if len(a) >= n:
        return np.ascontiguousarray(a[:n])
    reps = -(-n // len(a))
    return np.ascontiguousarray(np.concatenate([a] * reps)[:n])


def spec_of(model: BenchModel) -> Any:
    from benchmarks.suite.growth import all_specs

    return all_specs()[model.spec]


def arrays(model: BenchModel, quick: bool) -> Arrays:
    """The data of one model, sized for its rounds; whole batches only (no partial batch,
    which would make Keras trace its step function again inside a timed round)."""
    spec = spec_of(model)
    data = spec.data()
    steps, fit_batches, predict_batches = model.sizes(quick)
    b, pb = spec.batch_size, spec.eval_batch_size
    n_train = max(b, (len(data.x_train) // b) * b)
    return Arrays(
        batch=b, predict_batch=pb,
        x_train=_rows(data.x_train, n_train), y_train=_rows(data.y_train, n_train),
        x_fit=_rows(data.x_train, fit_batches * b), y_fit=_rows(data.y_train, fit_batches * b),
        x_predict=_rows(data.x_train, predict_batches * pb), stateful=spec.stateful)


def build(model: BenchModel, fw: Any, seed: int = 1234) -> Any:
    """The compiled model in ``fw`` (``minikeras`` or ``keras``), as the parity tests build it."""
    from benchmarks.suite.growth import build_compiled
    from parity_tests.harness import fresh_session

    fresh_session(fw, seed)
    return build_compiled(model.spec, fw)


def reset_states(net: Any) -> None:
    from parity_tests.harness import reset_states as reset

    reset(net)

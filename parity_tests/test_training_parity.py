"""fit(class_weight=...), Precision/Recall and the callbacks ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler and CSVLogger, side by side with real Keras 3.

* class_weight: losses per epoch and weights after two epochs of SGD from Keras' initial
  weights, for integer labels, one-hot targets and a sigmoid unit with (N, 1) targets;
* Precision/Recall: values of update_state on random data (thresholds, top_k, class_id,
  sample weights, several batches) and the values fit logs;
* callbacks: the learning-rate sequences and printed messages for the same scripted
  monitored values, the checkpoint files written, and the CSV file's layout and values.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

LOSS_RTOL, WEIGHT_ATOL, METRIC_ATOL = 2e-6, 2e-6, 1e-6


def _data(kind: str, n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    labels = rng.integers(0, 3 if kind != "binary" else 2, n)
    if kind == "onehot":
        return x, np.eye(3, dtype=np.float32)[labels]
    if kind == "binary":
        return x, labels.reshape(-1, 1).astype(np.float32)
    return x, labels


def _pair(keras: Any, kind: str, metrics: Any = None, lr: float = 0.1) -> tuple[Any, Any]:
    """The same Dense model on both sides, minikeras from Keras' initial weights."""
    units, act, loss = {"sparse": (3, "softmax", "sparse_categorical_crossentropy"),
                        "onehot": (3, "softmax", "categorical_crossentropy"),
                        "binary": (1, "sigmoid", "binary_crossentropy")}[kind]
    models = []
    for fw in (keras, mk):
        model = fw.Sequential([fw.Input((4,)), fw.layers.Dense(5, activation="tanh"),
                               fw.layers.Dense(units, activation=act)])
        model.compile(fw.optimizers.SGD(lr), loss,
                      metrics=metrics(fw) if callable(metrics) else metrics)
        models.append(model)
    models[1].set_weights([np.asarray(w) for w in models[0].get_weights()])
    return models[0], models[1]


@pytest.mark.parametrize("kind", ["sparse", "onehot", "binary"])
def test_class_weight_training_matches(keras: Any, kind: str) -> None:
    x, y = _data(kind)
    cw = {0: 0.5, 1: 2.0, 2: 1.5} if kind != "binary" else {0: 0.3, 1: 3.0}
    k_model, m_model = _pair(keras, kind)
    kw = {"batch_size": 6, "epochs": 2, "shuffle": False, "verbose": 0, "class_weight": cw}
    k_hist = k_model.fit(x, y, **kw).history
    m_hist = m_model.fit(x, y, **kw).history
    np.testing.assert_allclose(m_hist["loss"], k_hist["loss"], rtol=LOSS_RTOL)
    for k_w, m_w in zip(k_model.get_weights(), m_model.get_weights(), strict=True):
        np.testing.assert_allclose(m_w, np.asarray(k_w), atol=WEIGHT_ATOL)
    k_loss = float(k_model.train_on_batch(x[:7], y[:7], class_weight=cw))
    m_loss = float(m_model.train_on_batch(x[:7], y[:7], class_weight=cw))
    assert m_loss == pytest.approx(k_loss, rel=LOSS_RTOL)


def test_class_weight_with_validation_split(keras: Any) -> None:
    x, y = _data("sparse", n=24)
    k_model, m_model = _pair(keras, "sparse")
    kw = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0,
          "validation_split": 0.25, "class_weight": {0: 4.0}}
    k_hist = k_model.fit(x, y, **kw).history
    m_hist = m_model.fit(x, y, **kw).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(m_hist[key], k_hist[key], rtol=LOSS_RTOL)


METRIC_CASES = [{}, {"thresholds": [0.2, 0.5, 0.8]}, {"top_k": 2}, {"class_id": 1},
                {"class_id": 2, "thresholds": 0.3}, {"top_k": 1, "thresholds": [0.1, 0.6]}]


@pytest.mark.parametrize("kwargs", METRIC_CASES, ids=str)
@pytest.mark.parametrize("name", ["Precision", "Recall"])
def test_precision_recall_values(keras: Any, name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(len(str(kwargs)))
    k_metric = getattr(keras.metrics, name)(**kwargs)
    m_metric = getattr(mk.metrics, name)(**kwargs)
    for batch in range(3):
        y = (rng.random((6, 4)) > 0.6).astype(np.float32)
        p = rng.random((6, 4)).astype(np.float32)
        w = rng.random(6).astype(np.float32) if batch != 1 else None
        k_metric.update_state(y, p, sample_weight=w)
        m_metric.update_state(y, p, sample_weight=w)
        np.testing.assert_allclose(np.asarray(m_metric.result()),
                                   np.asarray(k_metric.result()), atol=METRIC_ATOL)
    k_metric.reset_state()
    m_metric.reset_state()
    np.testing.assert_array_equal(np.asarray(m_metric.result()), np.asarray(k_metric.result()))


def test_precision_recall_logged_by_fit(keras: Any) -> None:
    x, y = _data("binary", n=30)
    k_model, m_model = _pair(keras, "binary", metrics=lambda fw: [
        "precision", fw.metrics.Recall(name="recall"),
        fw.metrics.Precision(thresholds=0.3, name="p30")])
    kw = {"batch_size": 8, "epochs": 2, "shuffle": False, "verbose": 0,
          "validation_split": 0.2}
    k_hist = k_model.fit(x, y, **kw).history
    m_hist = m_model.fit(x, y, **kw).history
    assert sorted(m_hist) == sorted(k_hist)
    for key in k_hist:
        np.testing.assert_allclose(m_hist[key], k_hist[key], atol=METRIC_ATOL, rtol=LOSS_RTOL)


# ------------------------------------------------------------------------------ callbacks
def _scripted(fw: Any, key: str, values: list[float]) -> Any:
    """A callback that writes ``values[epoch]`` into the logs under ``key`` (both sides then
    watch exactly the same numbers)."""

    class Scripted(fw.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs[key] = values[epoch]

    return Scripted()


def _fit_both(keras: Any, capsys: Any, make_callbacks: Any, epochs: int,
              kind: str = "sparse") -> tuple:
    x, y = _data(kind)
    results = []
    for model in _pair(keras, kind):
        fw = keras if type(model).__module__.startswith("keras") else mk
        capsys.readouterr()
        hist = model.fit(x, y, batch_size=10, epochs=epochs, shuffle=False, verbose=0,
                         callbacks=make_callbacks(fw))
        results.append((hist.history, capsys.readouterr().out, model))
    return results[0], results[1]


WATCHED = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.8999, 0.85, 0.85, 0.86, 0.86]


@pytest.mark.parametrize("kwargs", [
    {"factor": 0.5, "patience": 2, "mode": "min"},
    {"factor": 0.5, "patience": 1, "cooldown": 2, "min_lr": 0.02, "mode": "min"},
    {"factor": 0.2, "patience": 1, "min_delta": 0.06, "mode": "min"},
    {"factor": 0.5, "patience": 2, "mode": "max"},
], ids=str)
def test_reduce_lr_on_plateau_matches(keras: Any, capsys: Any, kwargs: dict) -> None:
    (k_hist, k_out, k_model), (m_hist, m_out, m_model) = _fit_both(
        keras, capsys, lambda fw: [_scripted(fw, "watched", WATCHED),
                                   fw.callbacks.ReduceLROnPlateau("watched", verbose=1,
                                                                  **kwargs)], len(WATCHED))
    np.testing.assert_allclose(m_hist["learning_rate"], k_hist["learning_rate"], rtol=1e-7)
    assert m_out == k_out
    assert float(m_model.optimizer.learning_rate) == pytest.approx(
        float(np.asarray(k_model.optimizer.learning_rate)), rel=1e-7)


def test_reduce_lr_on_plateau_auto_mode_on_loss(keras: Any, capsys: Any) -> None:
    (k_hist, k_out, _), (m_hist, m_out, _) = _fit_both(
        keras, capsys, lambda fw: [fw.callbacks.ReduceLROnPlateau(
            "loss", factor=0.5, patience=0, min_delta=10.0, verbose=1)], 3)
    assert m_out == k_out and m_hist["learning_rate"] == k_hist["learning_rate"]


def test_learning_rate_scheduler_matches(keras: Any, capsys: Any) -> None:
    def schedule(epoch: int, lr: float) -> float:
        return lr if epoch < 2 else lr * 0.7

    (k_hist, k_out, _), (m_hist, m_out, _) = _fit_both(
        keras, capsys, lambda fw: [fw.callbacks.LearningRateScheduler(schedule, verbose=1)], 4)
    assert m_hist["learning_rate"] == k_hist["learning_rate"]
    np.testing.assert_allclose(m_hist["loss"], k_hist["loss"], rtol=LOSS_RTOL)
    assert m_out == k_out


@pytest.mark.parametrize("weights_only", [False, True])
def test_model_checkpoint_files_and_messages(keras: Any, capsys: Any, tmp_path: Any,
                                             weights_only: bool) -> None:
    ext = ".weights.h5" if weights_only else ".keras"
    written = []
    pair = _pair(keras, "sparse")
    for side in ("k", "m"):
        folder = tmp_path / side
        capsys.readouterr()

        def make(fw: Any, folder: Any = folder) -> list:
            return [_scripted(fw, "watched", WATCHED), fw.callbacks.ModelCheckpoint(
                str(folder / ("ck-{epoch:02d}-{watched:.3f}" + ext)), monitor="watched",
                save_best_only=True, save_weights_only=weights_only, mode="min", verbose=1)]

        x, y = _data("sparse")
        model = pair[0 if side == "k" else 1]
        fw = keras if side == "k" else mk
        model.fit(x, y, batch_size=10, epochs=6, shuffle=False, verbose=0,
                  callbacks=make(fw))
        out = capsys.readouterr().out.replace(str(folder), "DIR")
        written.append((sorted(os.listdir(folder)), out))
    assert written[1] == written[0]


def test_model_checkpoint_every_epoch_auto_mode_on_a_metric(keras: Any, capsys: Any,
                                                          tmp_path: Any) -> None:
    """Without save_best_only every epoch saves; 'auto' on an accuracy maximises."""
    outs = []
    pair = _pair(keras, "sparse", metrics=["accuracy"])
    for side, fw in (("k", keras), ("m", mk)):
        x, y = _data("sparse", n=20)
        model = pair[0 if side == "k" else 1]
        best = fw.callbacks.ModelCheckpoint(str(tmp_path / side / "best.keras"),
                                            monitor="val_accuracy", save_best_only=True)
        every = fw.callbacks.ModelCheckpoint(str(tmp_path / side / "e{epoch}.keras"),
                                             monitor="val_accuracy", verbose=1)
        capsys.readouterr()
        model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0,
                  validation_split=0.3, callbacks=[best, every])
        outs.append((capsys.readouterr().out.replace(str(tmp_path / side), "DIR"),
                     sorted(os.listdir(tmp_path / side)), best.monitor_op(2.0, 1.0)))
    assert outs[1] == outs[0]


def test_csv_logger_file_matches(keras: Any, capsys: Any, tmp_path: Any) -> None:
    rows = []
    pair = _pair(keras, "sparse", metrics=["accuracy"])
    for side, fw in (("k", keras), ("m", mk)):
        x, y = _data("sparse")
        model = pair[0 if side == "k" else 1]
        path = str(tmp_path / f"{side}.csv")
        model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0,
                  callbacks=[fw.callbacks.CSVLogger(path, separator=";")])
        model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0,
                  validation_split=0.2, callbacks=[fw.callbacks.CSVLogger(path, separator=";",
                                                                          append=True)])
        with open(path, newline="") as f:
            rows.append(list(csv.reader(f, delimiter=";")))
    k_rows, m_rows = rows
    assert [len(r) for r in m_rows] == [len(r) for r in k_rows]
    assert m_rows[0] == k_rows[0]
    for k_row, m_row in zip(k_rows[1:], m_rows[1:], strict=True):
        for k_cell, m_cell in zip(k_row, m_row, strict=True):
            if k_cell in ("NA", "0", "1") or m_cell in ("NA",):
                assert m_cell == k_cell
            else:
                assert float(m_cell) == pytest.approx(float(k_cell), rel=LOSS_RTOL, abs=1e-7)


@pytest.mark.parametrize("kwargs", [
    {"monitor": "val_precision", "patience": 1},                  # 'auto' -> max (a metric)
    {"monitor": "val_loss", "patience": 1, "min_delta": 0.04},    # 'auto' -> min (a loss)
    {"monitor": "val_precision", "patience": 2, "baseline": 0.7, "restore_best_weights": True},
    {"monitor": "val_precision", "patience": 1, "mode": "max", "start_from_epoch": 2},
], ids=str)
def test_early_stopping_matches(keras: Any, capsys: Any, kwargs: dict) -> None:
    values = [0.5, 0.6, 0.55, 0.58, 0.62, 0.61, 0.3, 0.3]
    key = kwargs["monitor"]
    results = []
    pair = _pair(keras, "binary", metrics=["precision"])
    for model, fw in zip(pair, (keras, mk), strict=True):
        x, y = _data("binary")
        stop = fw.callbacks.EarlyStopping(verbose=1, **kwargs)
        capsys.readouterr()
        hist = model.fit(x, y, batch_size=10, epochs=len(values), shuffle=False, verbose=0,
                         validation_split=0.2,
                         callbacks=[_scripted(fw, key, values), stop])
        results.append((hist.epoch, stop.stopped_epoch, stop.best_epoch,
                         capsys.readouterr().out, [np.asarray(w) for w in model.get_weights()]))
    assert results[1][:4] == results[0][:4]
    for k_w, m_w in zip(results[0][4], results[1][4], strict=True):
        np.testing.assert_allclose(m_w, k_w, atol=WEIGHT_ATOL)

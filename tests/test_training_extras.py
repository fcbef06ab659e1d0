"""fit(class_weight=...), the Precision and Recall metrics, and the callbacks ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler and CSVLogger: Keras 3 semantics without TensorFlow
(the same behaviours against real Keras are in parity_tests/test_training_parity.py)."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

import minikeras as mk
from minikeras import callbacks, layers, metrics
from minikeras.models.trainer import class_weight_to_sample_weights
from minikeras.utils import set_random_seed


def _data(n: int = 12, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, classes, n)


def _model(units: int = 3, activation: str = "softmax",
           loss: str = "sparse_categorical_crossentropy", metrics_: list | None = None,
           optimizer: object = "sgd") -> mk.Sequential:
    set_random_seed(2)
    model = mk.Sequential([mk.Input((4,)), layers.Dense(units, activation=activation)])
    model.compile(optimizer, loss, metrics=metrics_)
    return model


# ------------------------------------------------------------------------------ class_weight
def test_class_weight_to_sample_weights_reads_labels_one_hot_and_binary() -> None:
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    np.testing.assert_array_equal(class_weight_to_sample_weights(np.array([2, 0, 1]), cw),
                                  [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(class_weight_to_sample_weights(np.eye(3)[[1, 2]], cw),
                                  [2.0, 0.5])
    # (N, 1) targets are labels (binary: 0/1, rounded), a missing class weighs 1.
    np.testing.assert_array_equal(
        class_weight_to_sample_weights(np.array([[0.9], [0.2], [1.0]]), {1: 3.0}), [3, 1, 3])


def test_class_weight_is_sample_weight_of_the_class() -> None:
    x, y = _data()
    cw = {0: 0.5, 1: 2.0, 2: 1.5}
    a, b = _model(), _model()
    ha = a.fit(x, y, batch_size=5, epochs=2, class_weight=cw, shuffle=False, verbose=0)
    hb = b.fit(x, y, batch_size=5, epochs=2, sample_weight=np.array([cw[c] for c in y]),
               shuffle=False, verbose=0)
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    la = _model().train_on_batch(x, y, class_weight=cw)
    lb = _model().train_on_batch(x, y, sample_weight=np.array([cw[c] for c in y]))
    assert la == lb


def test_class_weight_leaves_validation_loss_unweighted() -> None:
    x, y = _data(16)
    model = _model()
    h = model.fit(x, y, epochs=1, validation_split=0.25, class_weight={0: 9.0, 1: 0.1},
                  shuffle=False, verbose=0)
    # validation runs after the epoch's updates: the plain loss of the last 4 samples
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(x[12:], y[12:], verbose=0),
                                                     rel=1e-6)


def test_class_weight_errors() -> None:
    x, y = _data()
    model = _model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight`"):
        model.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(12), verbose=0)
    with pytest.raises(ValueError, match="must be a dict mapping class indices"):
        model.fit(x, y, class_weight=[1.0, 2.0, 3.0], verbose=0)
    with pytest.raises(ValueError, match="Arguments `sample_weight` and `class_weight` cannot"):
        model.train_on_batch(x, y, class_weight={0: 1.0}, sample_weight=np.ones(12))
    seq = mk.Sequential([mk.Input((5, 4)), layers.Dense(3, activation="softmax")])
    seq.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"one class per sample.*\(12, 5, 3\)"):
        seq.fit(np.zeros((12, 5, 4)), np.eye(3)[np.zeros((12, 5), int)], class_weight={0: 2.0},
                verbose=0)
    with pytest.raises(ValueError, match=r"one class per sample.*\(12, 5\)"):
        seq.fit(np.zeros((12, 5, 4)), np.zeros((12, 5), int), class_weight={0: 2.0}, verbose=0)
    for w0, w1 in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)


# ------------------------------------------------------------------------------ metrics
def test_precision_recall_counts() -> None:
    y = np.array([[1, 0, 1, 1, 0, 0]], dtype=np.float32)
    p = np.array([[0.9, 0.8, 0.4, 0.6, 0.1, 0.5]], dtype=np.float32)
    prec, rec = metrics.Precision(), metrics.Recall()
    prec.update_state(y, p)
    rec.update_state(y, p)
    assert float(prec.result()) == pytest.approx(2 / 3)   # tp 2 (0.9, 0.6), fp 1 (0.8)
    assert float(rec.result()) == pytest.approx(2 / 3)    # fn 1 (0.4); 0.5 is not > 0.5
    prec.update_state(np.array([0.0]), np.array([0.7]))
    assert float(prec.result()) == pytest.approx(2 / 4)   # streaming until reset
    prec.reset_state()
    assert float(prec.result()) == 0.0                    # 0/0 -> 0, as Keras' divide_no_nan


def test_precision_thresholds_top_k_class_id_and_weights() -> None:
    y = np.array([[0, 1, 1], [1, 0, 0]], dtype=np.float32)
    p = np.array([[0.2, 0.9, 0.4], [0.6, 0.7, 0.1]], dtype=np.float32)
    m = metrics.Precision(thresholds=[0.3, 0.65])
    m.update_state(y, p)
    np.testing.assert_allclose(m.result(), [3 / 4, 1 / 2])   # > 0.3: tp 0.9 0.4 0.6, fp 0.7
    m = metrics.Recall(top_k=1)            # only the top entry of each row may count
    m.update_state(y, p)
    assert float(m.result()) == pytest.approx(1 / 3)
    m = metrics.Precision(class_id=0)
    m.update_state(y, p, sample_weight=np.array([1.0, 3.0]))
    assert float(m.result()) == 1.0
    m = metrics.Precision()
    m.update_state(y, p, sample_weight=np.array([2.0, 1.0]))
    assert float(m.result()) == pytest.approx(3 / 4)   # tp: 0.9 (w 2), 0.6 (w 1); fp: 0.7
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=1.5)


def test_precision_refuses_integer_labels_clearly() -> None:
    with pytest.raises(ValueError, match="same shape.*one-hot"):
        metrics.Precision().update_state(np.array([0, 2]), np.eye(3)[[0, 2]])


def test_precision_recall_in_compile_and_history() -> None:
    x, y = _data(classes=2)
    model = _model(1, "sigmoid", "binary_crossentropy", ["precision", "Recall"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["Recall", "loss", "precision", "val_Recall", "val_loss",
                                 "val_precision"]
    p = model.predict(x[:9], verbose=0)
    expected = metrics.Precision()
    expected.update_state(y[:9].astype(np.float32), p)
    assert model.evaluate(x[:9], y[:9], verbose=0, return_dict=True)["precision"] == \
        pytest.approx(float(expected.result()))
    assert expected.name == "precision"   # Keras' unique names per prefix: the first instance
    assert metrics.Precision().name == "precision_1"


# ------------------------------------------------------------------------------ callbacks
def test_model_checkpoint_filepath_errors() -> None:
    with pytest.raises(ValueError, match="must end in `.keras`"):
        callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        callbacks.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")


def test_model_checkpoint_save_best_only(tmp_path, capsys) -> None:
    x, y = _data()
    model = _model(optimizer=mk.optimizers.SGD(0.5))
    path = str(tmp_path / "ck" / "best-{epoch:02d}-{loss:.3f}.keras")
    cb = callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True, verbose=1)
    h = model.fit(x, y, epochs=3, callbacks=[cb], verbose=0)
    losses_ = h.history["loss"]
    saved = sorted(os.listdir(tmp_path / "ck"))
    expected = [f"best-{e + 1:02d}-{v:.3f}.keras" for e, v in enumerate(losses_)
                if v == min(losses_[:e + 1])]
    assert saved == expected
    out = capsys.readouterr().out
    assert f"Epoch 1: loss improved from None to {losses_[0]:.5f}, saving model to " in out
    assert "finished saving model to" in out
    loaded = mk.models.load_model(tmp_path / "ck" / saved[-1])
    assert len(loaded.get_weights()) == 2


def test_model_checkpoint_weights_only_mode_and_auto(tmp_path, capsys) -> None:
    x, y = _data(classes=2)
    model = _model(1, "sigmoid", "binary_crossentropy", ["accuracy"])
    cb = callbacks.ModelCheckpoint(str(tmp_path / "w.weights.h5"), monitor="val_accuracy",
                                   save_weights_only=True, save_best_only=True, verbose=1)
    model.fit(x, y, epochs=2, validation_split=0.25, callbacks=[cb], verbose=0)
    assert cb.monitor_op(2, 1)      # 'auto' on an accuracy: higher is better
    assert (tmp_path / "w.weights.h5").exists()
    bad = callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), monitor="lr")
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        model.fit(x, y, epochs=1, callbacks=[bad], verbose=0)
    every = callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.keras"), save_freq=2)
    model.fit(x, y, epochs=1, batch_size=3, callbacks=[every], verbose=0)
    assert sorted(p.name for p in tmp_path.glob("b*")) == ["b1-2.keras", "b1-4.keras"]


def test_reduce_lr_on_plateau_sequence(capsys) -> None:
    class Fixed(callbacks.Callback):
        """Overwrites the monitored value with a script of values."""

        def __init__(self, values: list[float]) -> None:
            super().__init__()
            self.values = values

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs["watched"] = self.values[epoch]

    values = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85]
    x, y = _data()
    model = _model(optimizer=mk.optimizers.SGD(0.1))
    cb = callbacks.ReduceLROnPlateau("watched", factor=0.5, patience=2, cooldown=1,
                                     min_lr=0.02, mode="min", verbose=1)
    h = model.fit(x, y, epochs=10, callbacks=[Fixed(values), cb], verbose=0)
    lr = h.history["learning_rate"]
    np.testing.assert_allclose(lr, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025],
                               rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    out = capsys.readouterr().out
    assert "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.05000000074505806." in out
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler(capsys) -> None:
    x, y = _data()
    model = _model(optimizer=mk.optimizers.SGD(0.1))
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr, verbose=1)
    h = model.fit(x, y, epochs=3, callbacks=[cb], verbose=0)
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.05000000074505806." in \
        capsys.readouterr().out
    old_api = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    model.fit(x, y, epochs=2, callbacks=[old_api], verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, callbacks=[callbacks.LearningRateScheduler(lambda e: 1)],
                  verbose=0)


def test_csv_logger_format_and_append(tmp_path) -> None:
    x, y = _data()
    model = _model(metrics_=["accuracy"])
    path = tmp_path / "log.csv"
    h = model.fit(x, y, epochs=2, callbacks=[callbacks.CSVLogger(str(path))], verbose=0)
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[1] == ["0", repr(h.history["accuracy"][0]), repr(h.history["loss"][0]),
                       "NA", "NA"]
    model.fit(x, y, epochs=1, callbacks=[callbacks.CSVLogger(str(path), separator=";",
                                                             append=True)], verbose=0)
    lines = open(path).read().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;") and lines[3].endswith(";NA;NA")


def test_several_thresholds_log_an_array_and_the_bar_its_mean(capsys) -> None:
    x, y = _data(classes=2)
    model = _model(1, "sigmoid", "binary_crossentropy",
                   [metrics.Precision(thresholds=[0.3, 0.6])])
    h = model.fit(x, y, epochs=1, verbose=2)
    value = h.history["precision"][0]
    assert isinstance(value, np.ndarray) and value.shape == (2,)
    assert f"precision: {np.mean(value):.4f}" in capsys.readouterr().out
    loss, precision = model.evaluate(x, y, verbose=0)
    assert precision.shape == (2,)


def test_lenient_inputs_keras_accepts_are_accepted_with_a_warning() -> None:
    x, y = _data()
    with pytest.warns(UserWarning, match=r"class_weight keys \['a'\] are not class indices"):
        _model().fit(x, y, class_weight={"a": 2.0, 0: 1.0}, verbose=0)
    with pytest.warns(UserWarning, match=r"unknown arguments \['verbosity'\] are ignored"):
        callbacks.ReduceLROnPlateau(verbosity=1)
    with pytest.warns(DeprecationWarning, match="`epsilon` is Keras 1/2 spelling"):
        cb = callbacks.ReduceLROnPlateau(epsilon=0.01)
    assert cb.min_delta == 0.01


def test_early_stopping_auto_mode_follows_the_metric() -> None:
    """Keras 3: 'auto' maximises a metric that goes up (precision), whatever its name."""
    x, y = _data(classes=2)
    values = [0.5, 0.6, 0.55, 0.58]

    class Fake(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_precision"] = values[epoch]

    model = _model(1, "sigmoid", "binary_crossentropy", ["precision"])
    stop = callbacks.EarlyStopping(monitor="val_precision", patience=1)
    history = model.fit(x, y, epochs=4, verbose=0, validation_split=0.25,
                        callbacks=[Fake(), stop])
    assert history.epoch == [0, 1, 2] and stop.best == 0.6
    with pytest.warns(UserWarning, match="EarlyStopping mode 'maximum' is unknown, fallback to "
                                         "auto mode."):
        assert callbacks.EarlyStopping(mode="maximum").mode == "auto"


def test_keras2_model_checkpoint_under_as_keras(tmp_path) -> None:
    """``keras.callbacks.ModelCheckpoint("w.best.hdf5", period=2)`` as Keras 2 scripts wrote
    it: a legacy whole-model HDF5 file, every second epoch."""
    from minikeras import as_keras

    x, y = _data()
    with as_keras.installed():
        from keras.callbacks import CSVLogger, ModelCheckpoint

        assert CSVLogger is callbacks.CSVLogger
        with pytest.warns(DeprecationWarning, match="`period=2` is Keras 1/2 spelling"):
            cb = ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.hdf5"), monitor="loss",
                                 period=2)
        model = _model()
        with pytest.warns(UserWarning, match="HDF5 file"):
            model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["w.02.hdf5", "w.04.hdf5"]
        loaded = mk.models.load_model(tmp_path / "w.04.hdf5")
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        with pytest.raises(ValueError, match="must end in `.weights.h5`"):
            ModelCheckpoint(str(tmp_path / "w.hdf5"), save_weights_only=True)

"""Training semantics against KERAS_NOTES sections 5-8: what fit/evaluate/predict and the
*_on_batch calls return, how they average, callbacks, progress output, summary and names."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minikeras as mk
from minikeras import backend, callbacks, layers, optimizers
from minikeras.utils import set_random_seed

N, D, K = 10, 3, 2


def _data(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D)).astype(np.float32)
    return x, np.eye(K, dtype=np.float32)[rng.integers(0, K, n)]


def _model(metrics: list | None = None, optimizer="sgd", loss="categorical_crossentropy",
           units: int = K, activation: str = "softmax") -> mk.Sequential:
    set_random_seed(1)
    model = mk.Sequential([mk.Input((D,)), layers.Dense(4, activation="tanh"),
                           layers.Dense(units, activation=activation)])
    model.compile(optimizer, loss, metrics=metrics)
    return model


def _per_sample_cce(model: mk.Sequential, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = model.predict(x, verbose=0).astype(np.float64)
    return -(y * np.log(p)).sum(-1)


# ------------------------------------------------------------------------------ averaging
def test_evaluate_is_per_sample_mean_over_batches() -> None:
    x, y = _data()
    model = _model()
    # batches of 4, 4, 2: the mean of batch means would weight the last two samples double
    got = model.evaluate(x, y, batch_size=4, verbose=0)
    np.testing.assert_allclose(got, _per_sample_cce(model, x, y).mean(), rtol=1e-6)


def test_fit_epoch_loss_is_size_weighted_mean_of_pre_update_batch_losses() -> None:
    x, y = _data()
    stepper = _model()
    batch_losses = [stepper.train_on_batch(x[i:i + 4], y[i:i + 4]) for i in range(0, N, 4)]
    fitted = _model()
    history = fitted.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / N
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-6)
    for a, b in zip(stepper.get_weights(), fitted.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_on_batch_uses_pre_update_weights_and_resets_metrics() -> None:
    x, y = _data()
    model = _model(metrics=["accuracy"])
    before = model.get_weights()
    expected = model.test_on_batch(x[:5], y[:5])
    assert model.get_weights()[0].tolist() == before[0].tolist()  # test_on_batch: no update
    got = model.train_on_batch(x[:5], y[:5])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert not np.array_equal(model.get_weights()[0], before[0])
    # the second call reports batch 2 alone (from the weights after step 1), not a running mean
    expected2 = model.test_on_batch(x[5:], y[5:])
    np.testing.assert_allclose(model.train_on_batch(x[5:], y[5:]), expected2, rtol=1e-6)


def test_sample_weight_loss_divides_by_batch_size() -> None:
    x, y = _data()
    model = _model()
    w = np.linspace(0, 2, N).astype(np.float32)
    got = model.evaluate(x, y, sample_weight=w, batch_size=N, verbose=0)
    np.testing.assert_allclose(got, (_per_sample_cce(model, x, y) * w).sum() / N, rtol=1e-6)


# ------------------------------------------------------------------------------ return forms
def test_return_forms() -> None:
    x, y = _data()
    plain = _model()
    assert isinstance(plain.train_on_batch(x, y), float)
    assert isinstance(plain.test_on_batch(x, y), float)
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    with_metrics = _model(metrics=["accuracy", "mse"])
    out = with_metrics.evaluate(x, y, verbose=0)
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(v, float) for v in out)
    as_dict = with_metrics.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["accuracy", "loss", "mse"]  # alphabetical, as Keras' logs
    assert as_dict["loss"] == out[0] and as_dict["accuracy"] == out[1]
    tob = with_metrics.train_on_batch(x, y, return_dict=True)
    assert set(tob) == {"accuracy", "loss", "mse"}
    assert isinstance(with_metrics.train_on_batch(x, y), list)
    assert with_metrics.metrics_names == ["loss", "compile_metrics"]


@pytest.mark.parametrize("loss,units,activation,y_kind,name", [
    ("binary_crossentropy", 1, "sigmoid", "binary", "acc"),
    ("sparse_categorical_crossentropy", 3, "softmax", "labels", "accuracy"),
    ("sparse_categorical_crossentropy", 3, "softmax", "labels_n1", "acc"),
    ("categorical_crossentropy", 3, "softmax", "onehot", "accuracy"),
    ("mse", 3, "softmax", "onehot", "accuracy"),   # categorical, chosen from shapes
])
def test_accuracy_in_model_resolved_from_shapes(loss, units, activation, y_kind,
                                                name) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, D)).astype(np.float32)
    labels = rng.integers(0, units if units > 1 else 2, 12)
    y = {"binary": lambda: labels[:, None].astype(np.float32), "labels": lambda: labels,
         "labels_n1": lambda: labels[:, None],
         "onehot": lambda: np.eye(units, dtype=np.float32)[labels]}[y_kind]()
    model = _model(metrics=[name], loss=loss, units=units, activation=activation)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    expected = ((p[:, 0] > 0.5) == labels).mean() if units == 1 else (
        p.argmax(-1) == labels).mean()
    assert set(logs) == {name, "loss"}
    np.testing.assert_allclose(logs[name], expected, rtol=1e-6)


# ------------------------------------------------------------------------------ fit options
def test_validation_split_takes_last_rows_before_shuffling() -> None:
    x, y = _data(20)
    model = _model()
    history = model.fit(x, y, validation_split=0.25, epochs=2, batch_size=4, verbose=0,
                        shuffle=True)
    assert history.params["steps"] == 4  # 15 training rows in batches of 4
    val = model.evaluate(x[15:], y[15:], batch_size=4, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], val, rtol=1e-6)
    assert list(history.history) == ["loss", "val_loss"]


def test_validation_data_and_alphabetical_keys() -> None:
    x, y = _data(12)
    model = _model(metrics=["accuracy", "mse"])
    history = model.fit(x[:8], y[:8], validation_data=(x[8:], y[8:]), epochs=1, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "mse", "val_accuracy", "val_loss",
                                     "val_mse"]
    np.testing.assert_allclose(history.history["val_loss"][0],
                               model.evaluate(x[8:], y[8:], verbose=0)[0], rtol=1e-6)


def test_initial_epoch_and_history_object(capsys) -> None:
    x, y = _data()
    model = _model(metrics=["acc"])
    history = model.fit(x, y, epochs=4, initial_epoch=2, batch_size=4, verbose=2)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 3/4\n") and "Epoch 4/4\n" in out and "Epoch 2/4" not in out
    assert history.epoch == [2, 3]
    assert history.params == {"verbose": 2, "epochs": 4, "steps": 3}
    assert set(history.history) == {"acc", "loss"}
    assert all(type(v) is float and len(vs) == 2 for vs in history.history.values() for v in vs)
    assert model.history is history and history.model is model


def test_positional_fit_and_shuffle_reproducible_with_seed() -> None:
    x, y = _data()

    def run() -> list[np.ndarray]:
        model = _model()
        set_random_seed(9)
        model.fit(x, y, 4, 2, 0)  # batch_size, epochs, verbose
        return model.get_weights()

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_float64_data_cast_and_predict_dtype() -> None:
    x, y = _data()
    model = _model()
    p64 = model.predict(x.astype(np.float64), verbose=0)
    assert p64.dtype == np.float32
    np.testing.assert_array_equal(p64, model.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x.astype(np.float64)), model.predict_on_batch(x))
    model.fit(x.astype(np.float64), y.astype(np.float64), verbose=0)
    assert model.get_weights()[0].dtype == np.float32


def test_linear_regression_learns_with_sgd() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1)).astype(np.float32)
    y = 2 * x + 1
    model = mk.Sequential([mk.Input((1,)), layers.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(x, y, epochs=30, batch_size=20, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose([kernel[0, 0], bias[0]], [2, 1], atol=1e-3)


# ------------------------------------------------------------------------------ output
def test_verbose_output_formats(capsys) -> None:
    x, y = _data()
    model = _model(metrics=["acc"])
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, batch_size=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"3/3 - \d+s - \d+(us|ms|s)/step - acc: \d\.\d{4} - loss: \d\.\d{4}",
                        lines[1]), lines[1]
    # verbose=1 on a non-terminal: one final bar line per epoch, no header for one epoch
    model.fit(x, y, epochs=1, batch_size=4, verbose=1)
    out = capsys.readouterr().out
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - acc: \d\.\d{4} - loss: \d\.\d{4}\n",
                        out), repr(out)
    model.evaluate(x, y, batch_size=4)
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step - acc: \d\.\d{4} - loss: \d\.\d{4}\n",
                        capsys.readouterr().out)
    model.predict(x, batch_size=4)
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(us|ms|s)/step\n", capsys.readouterr().out)


def test_progbar_value_format() -> None:
    from minikeras.utils.progbar import format_value

    assert format_value(1.23456) == "1.2346" and format_value(0.0005) == "5.0000e-04"


SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 32)             │        25,120 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 25,450 (99.41 KB)
 Trainable params: 25,450 (99.41 KB)
 Non-trainable params: 0 (0.00 B)"""


def test_summary_matches_keras_text(capsys) -> None:
    model = mk.Sequential([mk.Input((784,)), layers.Dense(32, activation="relu"),
                           layers.Dense(10, activation="softmax")])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) == SUMMARY
    model.summary()
    assert capsys.readouterr().out == SUMMARY + "\n"


def test_summary_unbuilt_and_optimizer_params() -> None:
    model = mk.Sequential([layers.Dense(2)])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "│ dense (Dense)                   │ ?                      │   0 (unbuilt) │" in lines
    model = _model(optimizer="adam")
    x, y = _data()
    model.train_on_batch(x, y)
    lines = []
    model.summary(print_fn=lines.append)
    weights = 3 * 4 + 4 + 4 * 2 + 2
    assert lines[-1] == f" Optimizer params: {2 * weights + 2} ({(2 * weights + 1) * 4 + 8:.2f} B)"


# ------------------------------------------------------------------------------ names, weights
def test_auto_names_global_counter_and_clear_session() -> None:
    a = mk.Sequential([mk.Input((3,)), layers.Dense(2), layers.Dense(1)])
    b = mk.Sequential([mk.Input((3,)), layers.Dense(2)])
    assert [la.name for la in a.layers] == ["dense", "dense_1"]
    assert [la.name for la in b.layers] == ["dense_2"]
    assert (a.name, b.name) == ("sequential", "sequential_1")
    backend.clear_session()
    c = mk.Sequential([mk.Input((3,)), layers.Dense(2)])
    assert c.name == "sequential" and c.layers[0].name == "dense"


def test_get_set_weights_order_and_shapes() -> None:
    model = _model()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 4), (4,), (4, 2), (2,)]  # kernel, bias per layer, in layer order
    new = [np.full(s, i, dtype=np.float64) for i, s in enumerate(shapes)]
    model.set_weights(new)
    got = model.get_weights()
    assert all(g.dtype == np.float32 and np.all(g == i) for i, g in enumerate(got))
    assert model.count_params() == 26


def test_sequential_structure() -> None:
    model = mk.Sequential()
    model.add(mk.Input((3,)))
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    assert len(model.layers) == 2  # the InputLayer is not listed
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 4)


# ------------------------------------------------------------------------------ callbacks
class _Recorder(callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            self.calls.append(name)
        return super().__getattribute__(name)


def test_callback_hook_order() -> None:
    x, y = _data()
    rec = _Recorder()
    _model().fit(x, y, epochs=1, batch_size=5, verbose=0, callbacks=[rec])
    assert rec.calls == ["on_train_begin", "on_epoch_begin",
                         "on_train_batch_begin", "on_batch_begin",
                         "on_train_batch_end", "on_batch_end",
                         "on_train_batch_begin", "on_batch_begin",
                         "on_train_batch_end", "on_batch_end",
                         "on_epoch_end", "on_train_end"]


def test_lambda_callback_counts_and_logs() -> None:
    x, y = _data()
    seen: dict[str, list] = {"batch": [], "epoch": []}
    cb = callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen["batch"].append((b, logs["loss"])),
        on_epoch_end=lambda e, logs: seen["epoch"].append((e, dict(logs))))
    history = _model(metrics=["acc"]).fit(x, y, epochs=2, batch_size=4, verbose=0,
                                          callbacks=[cb])
    assert [b for b, _ in seen["batch"]] == [0, 1, 2, 0, 1, 2]
    assert [e for e, _ in seen["epoch"]] == [0, 1]
    assert seen["epoch"][1][1]["loss"] == history.history["loss"][1]
    assert seen["batch"][2][1] == history.history["loss"][0]  # running mean at epoch end
    with pytest.raises(ValueError, match="hook"):
        callbacks.LambdaCallback(on_bogus=print)


def test_early_stopping_patience() -> None:
    x, y = _data()
    values = [1.0, 0.5, 0.6, 0.7, 0.1]

    class Fake(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = values[epoch]

    stop = callbacks.EarlyStopping(monitor="loss", patience=1)
    history = _model().fit(x, y, epochs=5, verbose=0, callbacks=[Fake(), stop])
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 2  # as Keras 3.15.1


def test_early_stopping_restore_best_weights() -> None:
    x, y = _data()
    model = _model()
    snapshots = []
    values = [1.0, 0.5, 0.6, 0.7]

    class Fake(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = values[epoch]
            snapshots.append(model.get_weights())

    stop = callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[Fake(), stop])
    assert stop.stopped_epoch == 3
    for a, b in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_restores_best_even_without_stopping() -> None:
    x, y = _data()
    model = _model()
    snapshots = []
    values = [1.0, 0.2, 0.6]

    class Fake(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = values[epoch]
            snapshots.append(model.get_weights())

    stop = callbacks.EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[Fake(), stop])
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 0
    for a, b in zip(model.get_weights(), snapshots[1], strict=True):  # as Keras 3
        np.testing.assert_array_equal(a, b)


def test_early_stopping_missing_monitor_warns() -> None:
    x, y = _data()
    with pytest.warns(UserWarning, match="val_loss.*not available"):
        history = _model().fit(x, y, epochs=2, verbose=0,
                               callbacks=[callbacks.EarlyStopping()])
    assert history.epoch == [0, 1]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan_raise_error() -> None:
    x, y = _data()
    x[0, 0] = np.nan
    model = _model(loss="mse", activation="linear")
    with pytest.raises(RuntimeError, match="batch 0"):
        model.fit(x, y, batch_size=4, verbose=0, shuffle=False,
                  callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan(capsys) -> None:
    x, y = _data()
    x[5, 0] = np.nan  # the second batch of 4 has a NaN: its loss is NaN
    model = _model(loss="mse", activation="linear")
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False,
                        callbacks=[callbacks.TerminateOnNaN()])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert model.optimizer.iterations == 2  # no batch after the NaN one


def test_stop_training_from_a_callback() -> None:
    x, y = _data()
    model = _model()
    cb = callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: setattr(model, "stop_training", b == 1))
    history = model.fit(x, y, epochs=3, batch_size=2, verbose=0, callbacks=[cb])
    assert model.optimizer.iterations == 2 and history.epoch == [0]
    model.fit(x, y, epochs=1, batch_size=2, verbose=0)  # a new fit starts afresh
    assert model.optimizer.iterations == 7


def test_predict_and_evaluate_release_layer_caches():
    """No backward follows predict/evaluate: each batch's cached arrays are dropped, so two
    batches' worth (the CNN's 160 MB patch matrix at batch 256) are never held at once."""
    from minikeras import Input, Model, Sequential, layers

    inner = Sequential([Input((4, 3)), layers.TimeDistributed(layers.Dense(2))])
    inp = Input((4, 3))
    out = layers.Dense(1)(layers.Flatten()(inner(inp)))
    model = Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((6, 4, 3), "float32"), np.ones((6, 1), "float32")
    model.train_on_batch(x, y)
    td = inner.layers[0]
    assert td.cache is not None and td.layer.cache is not None
    model.predict(x, batch_size=4, verbose=0)
    assert td.cache is None and td.layer.cache is None and model.cache == {}
    model.train_on_batch(x, y)
    model.evaluate(x, y, batch_size=4, verbose=0)
    assert td.cache is None and td.layer.cache is None and model.cache == {}


def test_backend_matmul_outer_product_shortcut_is_exact():
    rng = np.random.default_rng(0)
    for a_shape, b_shape in [((7, 1), (1, 5)), ((3, 4, 1), (1, 6)), ((7, 3), (3, 5))]:
        a = rng.standard_normal(a_shape).astype("float32")
        b = rng.standard_normal(b_shape).astype("float32")
        np.testing.assert_array_equal(backend.matmul(a, b), a @ b)


def test_shape_checks_still_run_after_the_first_batch():
    """Sequential walks a data shape through its layers once per (shape, layers): a later
    batch of another shape, or a model changed by add/pop, is checked again."""
    model = mk.Sequential([layers.Dense(4), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    with pytest.raises(ValueError, match="dense"):
        model.train_on_batch(np.ones((8, 5), "float32"), y)
    model.pop()
    model.add(layers.Dense(2))
    with pytest.raises(ValueError, match="Target shape"):
        model.train_on_batch(x, y)
    model.train_on_batch(x, np.ones((8, 2), "float32"))

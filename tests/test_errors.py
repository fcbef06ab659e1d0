"""Bad input gets a clear ValueError/TypeError naming what is wrong, and nothing is lost: after
each failing call the model's weights (and optimizer step count) are exactly as before."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minikeras as mk
from minikeras import activations, layers, losses, optimizers
from minikeras.utils import np_utils, to_categorical


def _model(compiled: bool = True, loss: str = "categorical_crossentropy",
           with_input: bool = True) -> mk.Sequential:
    head = [mk.Input((3,))] if with_input else []
    model = mk.Sequential([*head, layers.Dense(4, activation="relu"),
                           layers.Dense(2, activation="softmax")])
    if compiled:
        model.compile("adam", loss, metrics=["accuracy"])
    return model


def _data(n: int = 8, features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, features)).astype(np.float32),
            np.eye(2, dtype=np.float32)[rng.integers(0, 2, n)])


def _fails_cleanly(model: mk.Sequential, call: Callable[[], object],
                   exc: type | tuple = ValueError, match: str | None = None,
                   built: bool = True) -> str:
    """``call`` raises ``exc`` (matching ``match``) and leaves every weight as it was."""
    before = model.get_weights() if built else []
    steps = model.optimizer.iterations if model.optimizer is not None else None
    with pytest.raises(exc, match=match) as info:
        call()
    after = model.get_weights() if built else []
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    if steps is not None:
        assert model.optimizer.iterations == steps
    return str(info.value)


# ------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch",
                                    "predict", "call"])
def test_wrong_feature_count_names_layer_and_shapes(method: str) -> None:
    model = _model()
    x, y = _data(features=4)
    calls = {"fit": lambda: model.fit(x, y, verbose=0),
             "evaluate": lambda: model.evaluate(x, y, verbose=0),
             "train_on_batch": lambda: model.train_on_batch(x, y),
             "test_on_batch": lambda: model.test_on_batch(x, y),
             "predict": lambda: model.predict(x, verbose=0),
             "call": lambda: model(x)}
    msg = _fails_cleanly(model, calls[method])
    assert '"dense"' in msg and "(None, 3)" in msg and "4)" in msg


def test_wrong_feature_count_in_validation_data_fails_before_training() -> None:
    model = _model()
    x, y = _data()
    bad_x, _ = _data(features=5)
    msg = _fails_cleanly(model, lambda: model.fit(x, y, validation_data=(bad_x, y), verbose=0))
    assert '"dense"' in msg and "5)" in msg


def test_wrong_feature_count_on_lazily_built_model() -> None:
    model = _model(with_input=False)
    x, y = _data()
    model.fit(x, y, verbose=0)
    bad, _ = _data(features=6)
    msg = _fails_cleanly(model, lambda: model.fit(bad, y, verbose=0))
    assert '"dense"' in msg and "value 3" in msg and "6)" in msg


def test_layer_wrong_rank_and_features() -> None:
    dense = layers.Dense(2)
    dense(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r'layer "dense".*value 3.*\(2, 5\)'):
        dense(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"min_ndim=2.*ndim=1"):
        layers.Dense(2)(np.ones(3, np.float32))


def test_target_shape_mismatch() -> None:
    model = _model()
    x, _ = _data()
    y3 = np.eye(3, dtype=np.float32)[np.zeros(8, int)]
    msg = _fails_cleanly(model, lambda: model.fit(x, y3, verbose=0))
    assert "(8, 3)" in msg and "(None, 2)" in msg


def test_reshape_incompatible_sizes() -> None:
    with pytest.raises(ValueError, match="reshape"):
        layers.Reshape((5,)).compute_output_shape((None, 2, 3))
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape((4, 2)).compute_output_shape((None, 2, 3))


# ------------------------------------------------------------------------------ compile
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_use_before_compile(method: str) -> None:
    model = _model(compiled=False)
    x, y = _data()
    msg = _fails_cleanly(model, lambda: getattr(model, method)(x, y), match="compile")
    assert "compile()" in msg
    assert model.predict(x, verbose=0).shape == (8, 2)  # predict needs no compile


def test_unknown_names_list_valid_ones() -> None:
    model = _model()
    x, y = _data()
    model.fit(x, y, verbose=0)
    msg = _fails_cleanly(model, lambda: model.compile("adamm", "mse"))
    assert "adamm" in msg and "rmsprop" in msg
    msg = _fails_cleanly(model, lambda: model.compile("sgd", "mean_squared_eror"))
    assert "mean_squared_eror" in msg and "categorical_crossentropy" in msg
    _fails_cleanly(model, lambda: model.compile("sgd", "mse", metrics=["acuracy"]),
                   match="accuracy")
    # a failed compile left the previous compile in place: training still uses Adam
    assert isinstance(model.optimizer, optimizers.Adam)
    model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="softmax"):
        layers.Dense(2, activation="softmaks")
    with pytest.raises(ValueError, match="relu"):
        activations.get("rellu")
    with pytest.raises(ValueError, match="mse"):
        losses.get("msee")


def test_keras2_metrics_positional_is_explained() -> None:
    model = _model(compiled=False)
    with pytest.raises(ValueError, match="metrics="):
        model.compile("sgd", "mse", ["accuracy"])


# ------------------------------------------------------------------------------ data
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch"])
def test_x_y_length_mismatch(method: str) -> None:
    model = _model()
    x, y = _data()
    call = {"fit": lambda: model.fit(x, y[:5], verbose=0),
            "evaluate": lambda: model.evaluate(x, y[:5], verbose=0),
            "train_on_batch": lambda: model.train_on_batch(x, y[:5])}[method]
    msg = _fails_cleanly(model, call)
    assert "8" in msg and "5" in msg and "samples" in msg


def test_sample_weight_length_mismatch() -> None:
    model = _model()
    x, y = _data()
    msg = _fails_cleanly(model, lambda: model.fit(x, y, sample_weight=np.ones(3), verbose=0))
    assert "sample_weight" in msg


def test_sparse_labels_out_of_range() -> None:
    model = _model(loss="sparse_categorical_crossentropy")
    x, _ = _data()
    labels = np.array([0, 1, 1, 0, 2, 0, 1, 0])  # 2 is not a class of a 2-unit softmax
    msg = _fails_cleanly(model, lambda: model.fit(x, labels, verbose=0))
    assert "2" in msg and "[0, 1]" in msg
    _fails_cleanly(model, lambda: model.train_on_batch(x, -labels), match="-2")
    with pytest.raises(ValueError, match="outside the valid range"):
        losses.SparseCategoricalCrossentropy()(np.array([3]), np.array([[0.5, 0.5]]))


def test_to_categorical_errors() -> None:
    with pytest.raises(ValueError, match=r"label 5.*num_classes=3"):
        to_categorical([0, 1, 5], num_classes=3)
    with pytest.raises(ValueError, match=">= 0"):
        to_categorical([0, -1])
    with pytest.raises(ValueError, match="integers"):
        to_categorical([0.5, 1.0])
    out = np_utils.to_categorical(np.array([[2], [0]]), 3)
    assert out.dtype == np.float64 and out.tolist() == [[0, 0, 1], [1, 0, 0]]


# ------------------------------------------------------------------------------ weights
def test_set_weights_wrong_count_or_shape() -> None:
    model = _model()
    good = model.get_weights()
    msg = _fails_cleanly(model, lambda: model.set_weights(good[:3]))
    assert "3" in msg and "4" in msg
    bad = [w.copy() for w in good]
    bad[3] = np.zeros(5, np.float32)  # the last one is wrong: nothing before it is copied
    bad[0] = bad[0] + 1
    msg = _fails_cleanly(model, lambda: model.set_weights(bad))
    assert "(2,)" in msg and "(5,)" in msg
    layer = layers.Dense(2)
    layer.build_for((None, 3))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize("make,exc,match", [
    (lambda: layers.Dense(0), ValueError, "units"),
    (lambda: layers.Dense(2, kernel_init="zeros"), (TypeError, ValueError), "kernel_init"),
    (lambda: layers.Dropout(-0.1), ValueError, "rate"),
    (lambda: layers.Flatten(data_format="channels_middle"), ValueError, "data_format"),
    (lambda: optimizers.SGD(momentum=0), ValueError, "momentum"),
    (lambda: optimizers.get("adadelta_x"), ValueError, "sgd"),
])
def test_bad_constructor_arguments(make, exc, match: str) -> None:
    with pytest.raises(exc, match=match):
        make()


def test_sequential_rejects_non_layers() -> None:
    with pytest.raises(TypeError, match="Layer"):
        mk.Sequential([np.ones(3)])

"""Bad inputs at every public entry point: a clear error (or warning), and nothing lost.

Each case is one bad call on a small model, written against the public API that minikeras
and Keras share, so that ``parity_tests/test_bad_inputs_parity.py`` can run the very same
case on Keras and print both messages side by side (``parity_tests/bad_inputs_report.md``).

For every case this file asserts, on minikeras:

- the exception (or warning) type;
- that the message names the argument or layer, what was expected and what was received
  (``Case.expect``: substrings, compared case-insensitively);
- that the error comes from minikeras' own code: the last traceback frame is a minikeras
  file, never NumPy's (a warning points at the caller's line, here this file);
- that a failing call changed nothing: weights, optimizer variables (iterations, learning
  rate, slots), RNN states and compile settings are exactly as before.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minikeras

PACKAGE = Path(minikeras.__file__).resolve().parent


# --------------------------------------------------------------------------- models
def build(fw: Any, kind: str) -> Any:
    """A small compiled model that has taken one training step (so optimizer slots and RNN
    states hold values a failing call could spoil)."""
    L = fw.layers
    rng = np.random.default_rng(0)
    if kind == "dense":
        m = fw.Sequential([fw.Input((3,)), L.Dense(2)])
        m.compile(fw.optimizers.SGD(0.1, momentum=0.9), "mse")
        m.train_on_batch(rng.standard_normal((4, 3)).astype("float32"),
                         rng.standard_normal((4, 2)).astype("float32"))
    elif kind == "sparse":
        m = fw.Sequential([fw.Input((3,)), L.Dense(3, activation="softmax")])
        m.compile(fw.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        m.train_on_batch(rng.standard_normal((4, 3)).astype("float32"),
                         np.array([0, 1, 2, 1]))
    elif kind == "rnn":
        m = fw.Sequential([fw.Input(batch_shape=(2, 5, 3)),
                           L.SimpleRNN(4, stateful=True), L.Dense(1)])
        m.compile(fw.optimizers.RMSprop(0.01), "mse")
        m.train_on_batch(rng.standard_normal((2, 5, 3)).astype("float32"),
                         rng.standard_normal((2, 1)).astype("float32"))
    elif kind == "two":
        a, b = fw.Input((3,), name="a"), fw.Input((2,), name="b")
        out = L.Dense(1)(L.Concatenate()([a, b]))
        m = fw.Model([a, b], out)
        m.compile(fw.optimizers.Adam(0.01), "mse")
        m.train_on_batch([rng.standard_normal((4, 3)).astype("float32"),
                          rng.standard_normal((4, 2)).astype("float32")],
                         rng.standard_normal((4, 1)).astype("float32"))
    elif kind == "two-out":
        a = fw.Input((3,))
        m = fw.Model(a, [L.Dense(1, name="p")(a), L.Dense(2, name="q")(a)])
        m.compile(fw.optimizers.SGD(0.1), ["mse", "mse"])
        m.train_on_batch(rng.standard_normal((4, 3)).astype("float32"),
                         [rng.standard_normal((4, 1)).astype("float32"),
                          rng.standard_normal((4, 2)).astype("float32")])
    else:
        m = None
    return m


def snapshot(fw: Any, m: Any) -> list[Any]:
    """Everything a failing call must leave alone, as host arrays and plain values."""
    if m is None:
        return []
    state: list[Any] = [np.array(w) for w in m.get_weights()]
    opt = m.optimizer
    state += [np.asarray(backend_numpy(v)) for v in opt.variables]
    for layer in m.layers:
        for s in getattr(layer, "states", None) or []:
            state.append(np.array(backend_numpy(s)))
    losses = m._losses if hasattr(m, "_losses") else getattr(m, "loss", None)
    state += [id(opt), repr(losses), repr(m.get_compile_config())]
    return state


def backend_numpy(v: Any) -> Any:
    """A host copy of a variable: minikeras gives arrays, Keras gives Variables (``.numpy()``)."""
    return v.numpy() if hasattr(v, "numpy") else v


def same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        (np.array_equal(x, y, equal_nan=x.dtype.kind == "f") if isinstance(x, np.ndarray)
         else x == y) for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- data
def X(*shape: int) -> np.ndarray:
    return np.random.default_rng(1).standard_normal(shape).astype("float32")


def nan_at(a: np.ndarray, count: int = 1, value: float = np.nan) -> np.ndarray:
    a = a.copy()
    a.reshape(-1)[:count] = value
    return a


STR = np.array([["a", "b", "c"]] * 4)
OBJ = np.array([[1, "b", None]] * 4, dtype=object)
CPLX = X(4, 3) + 1j
DATES = np.array([["2020-01-01"] * 3] * 4, dtype="datetime64[D]")
RAGGED = [[1.0, 2.0, 3.0], [1.0, 2.0]]
Y2 = X(4, 2)


@dataclass(frozen=True)
class Case:
    id: str
    entry: str
    model: str
    run: Callable[[Any, Any], Any]     # (framework module, model) -> the bad call
    kind: type                         # exception or warning class expected from minikeras
    expect: tuple[str, ...]            # substrings the message must hold (any case)
    changes: bool = False              # a warning case that trains on (state may move)


def _fit(**kw: Any) -> Callable[[Any, Any], Any]:
    base = {"x": X(4, 3), "y": Y2, "verbose": 0}
    base.update(kw)
    return lambda fw, m: m.fit(**base)


def _fit_gen(batches: list, **kw: Any) -> Callable[[Any, Any], Any]:
    """fit on a fresh generator of ``batches`` (each framework reads its own)."""
    def gen() -> Any:
        yield from batches
    return lambda fw, m: m.fit(gen(), verbose=0, shuffle=False, **kw)


def _fit_pyds(batches: list, **kw: Any) -> Callable[[Any, Any], Any]:
    """fit on a PyDataset of ``batches``, subclassing the framework's own PyDataset."""
    def run(fw: Any, m: Any) -> Any:
        class Batches(fw.utils.PyDataset):
            def __len__(self) -> int:
                return len(batches)

            def __getitem__(self, i: int) -> Any:
                return batches[i]
        return m.fit(Batches(), verbose=0, shuffle=False, **kw)
    return run


def _sgd(**kw: Any) -> Callable[[Any, Any], Any]:
    return lambda fw, m: fw.optimizers.SGD(**kw)


def _layer(name: str, *args: Any, **kw: Any) -> Callable[[Any, Any], Any]:
    return lambda fw, m: getattr(fw.layers, name)(*args, **kw)


def _load(tmp_name: str, content: bytes | None) -> Callable[[Any, Any], Any]:
    def run(fw: Any, m: Any) -> Any:
        path = os.path.join(os.environ["BAD_INPUTS_TMP"], tmp_name)
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        return fw.models.load_model(path)
    return run


def _load_weights(tmp_name: str, content: bytes | None) -> Callable[[Any, Any], Any]:
    def run(fw: Any, m: Any) -> Any:
        path = os.path.join(os.environ["BAD_INPUTS_TMP"], tmp_name)
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        return m.load_weights(path)
    return run


W = UserWarning
V, T = ValueError, TypeError
CASES: list[Case] = [
    # ---------------------------------------------------------------- fit
    Case("fit-x-str", "fit", "dense", _fit(x=STR), V, ("`x`", "dtype", "<U1", "numbers")),
    Case("fit-x-object", "fit", "dense", _fit(x=OBJ), V, ("`x`", "dtype", "object")),
    Case("fit-x-complex", "fit", "dense", _fit(x=CPLX), V, ("`x`", "complex", "numbers")),
    Case("fit-x-datetime", "fit", "dense", _fit(x=DATES), V, ("`x`", "datetime64", "numbers")),
    Case("fit-y-str", "fit", "dense", _fit(y=np.array([["a", "b"]] * 4)), V,
         ("`y`", "dtype", "<U1", "numbers")),
    Case("fit-sw-str", "fit", "dense", _fit(sample_weight=np.array(["1"] * 4)), V,
         ("`sample_weight`", "dtype", "<U1")),
    Case("fit-x-ragged", "fit", "dense", _fit(x=RAGGED, y=Y2[:2]), V,
         ("`x`", "rectangular", "[[1.0, 2.0, 3.0], [1.0, 2.0]]")),
    Case("fit-x-empty", "fit", "dense", _fit(x=X(0, 3), y=X(0, 2)), V,
         ("`x`", "0 samples", "at least 1")),
    Case("fit-batch-size-0", "fit", "dense", _fit(batch_size=0), V,
         ("batch_size", "positive integer", "batch_size=0")),
    Case("fit-batch-size-neg", "fit", "dense", _fit(batch_size=-4), V,
         ("batch_size", "positive integer", "batch_size=-4")),
    Case("fit-batch-size-float", "fit", "dense", _fit(batch_size=2.5), V,
         ("batch_size", "positive integer", "batch_size=2.5")),
    Case("fit-steps-0", "fit", "dense", _fit(steps_per_epoch=0), V,
         ("steps_per_epoch", "positive integer", "steps_per_epoch=0")),
    Case("fit-val-split-1", "fit", "dense", _fit(validation_split=1.0), V,
         ("validation_split", "[0, 1)", "validation_split=1.0")),
    Case("fit-val-split-neg", "fit", "dense", _fit(validation_split=-0.2), V,
         ("validation_split", "[0, 1)", "validation_split=-0.2")),
    Case("fit-val-split-empty", "fit", "dense", _fit(x=X(1, 3), y=X(1, 2), validation_split=0.5),
         V, ("validation_split=0.5", "1 sample", "at least 1")),
    Case("fit-x-nan", "fit", "dense", _fit(x=nan_at(X(4, 3), 2)), W,
         ("`x`", "2 nan", "finite"), changes=True),
    Case("fit-y-inf", "fit", "dense", _fit(y=nan_at(Y2, 1, np.inf)), W,
         ("`y`", "1 inf", "finite"), changes=True),
    Case("fit-sw-nan", "fit", "dense", _fit(sample_weight=nan_at(np.ones(4, "float32"), 3)), W,
         ("`sample_weight`", "3 nan", "finite"), changes=True),
    Case("fit-epochs-neg", "fit", "dense", _fit(epochs=-1), W,
         ("epochs=-1", "negative", "epochs >= 1")),
    Case("fit-initial-epoch", "fit", "dense", _fit(epochs=2, initial_epoch=2), W,
         ("initial_epoch=2", "epochs=2", "initial_epoch < epochs")),
    Case("fit-x-rank", "fit", "dense", _fit(x=X(4, 3, 2)), V,
         ("input", "(none, 3)", "(4, 3, 2)")),
    Case("fit-x-features", "fit", "dense", _fit(x=X(4, 5)), V, ("dense", "(none, 3)", "(none, 5)")),
    Case("fit-xy-cardinality", "fit", "dense", _fit(y=X(5, 2)), V,
         ("cardinality", "x sizes: 4", "y sizes: 5")),
    Case("fit-val-data-shape", "fit", "dense", _fit(validation_data=(X(4, 5), Y2)), V,
         ("validation_data", "(none, 3)", "(none, 5)")),
    Case("fit-val-data-not-tuple", "fit", "dense", _fit(validation_data=X(4, 3)), V,
         ("validation_data", "(x_val, y_val)", "ndarray")),
    Case("fit-callbacks-bad", "fit", "dense", _fit(callbacks=[print]), T,
         ("callbacks", "callback", "builtin_function_or_method")),
    Case("fit-x-none", "fit", "dense", _fit(x=None), V, ("`x`", "none", "array")),
    Case("fit-x-scalar", "fit", "dense", _fit(x=np.float32(1.0), y=np.float32(1.0)), V,
         ("`x`", "batch axis", "shape ()")),
    Case("fit-sw-2d", "fit", "dense", _fit(sample_weight=np.ones((4, 2))), V,
         ("`sample_weight`", "(4,)", "(4, 2)")),
    Case("fit-y-dict-missing", "fit", "dense", _fit(y={"zzz": Y2}), V,
         ("targets", "dense", "zzz")),
    Case("fit-verbose", "fit", "dense", _fit(verbose="loud"), V,
         ("verbose", "0, 1 or 2", "'loud'")),
    Case("fit-epochs-float", "fit", "dense", _fit(epochs=1.5), V,
         ("epochs", "integer", "epochs=1.5")),
    # ---------------------------------------------------------------- evaluate
    Case("evaluate-x-str", "evaluate", "dense", lambda fw, m: m.evaluate(STR, Y2, verbose=0),
         V, ("`x`", "dtype", "<U1")),
    Case("evaluate-y-complex", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(4, 3), Y2 + 1j, verbose=0), V, ("`y`", "complex", "numbers")),
    Case("evaluate-batch-size-0", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(4, 3), Y2, batch_size=0, verbose=0), V,
         ("batch_size", "positive integer", "batch_size=0")),
    Case("evaluate-steps-0", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(4, 3), Y2, steps=0, verbose=0), V,
         ("steps", "positive integer", "steps=0")),
    Case("evaluate-empty", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(0, 3), X(0, 2), verbose=0), V, ("`x`", "0 samples", "1")),
    Case("evaluate-x-nan", "evaluate", "dense",
         lambda fw, m: m.evaluate(nan_at(X(4, 3)), Y2, verbose=0), W,
         ("`x`", "1 nan", "finite")),
    Case("evaluate-rank", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(4), Y2, verbose=0), V, ("input", "(none, 3)", "(4,)")),
    Case("evaluate-cardinality", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(4, 3), X(3, 2), verbose=0), V,
         ("cardinality", "x sizes: 4", "y sizes: 3")),
    Case("evaluate-ragged-y", "evaluate", "dense",
         lambda fw, m: m.evaluate(X(2, 3), [[1.0, 2.0], [3.0]], verbose=0), V,
         ("`y`", "rectangular", "[[1.0, 2.0], [3.0]]")),
    Case("evaluate-no-y", "evaluate", "dense", lambda fw, m: m.evaluate(X(4, 3), verbose=0), V,
         ("`y`", "none", "target")),
    Case("evaluate-x-dict-missing", "evaluate", "dense",
         lambda fw, m: m.evaluate({"zzz": X(4, 3)}, Y2, verbose=0), V,
         ("missing", "input", "zzz")),
    Case("evaluate-y-count", "evaluate", "two-out",
         lambda fw, m: m.evaluate(X(4, 3), [X(4, 1)], verbose=0), V,
         ("2 output", "'p', 'q'", "1 array")),
    # ---------------------------------------------------------------- predict
    Case("predict-x-str", "predict", "dense", lambda fw, m: m.predict(STR, verbose=0), V,
         ("`x`", "dtype", "<U1")),
    Case("predict-x-object", "predict", "dense", lambda fw, m: m.predict(OBJ, verbose=0), V,
         ("`x`", "object", "numbers")),
    Case("predict-x-datetime", "predict", "dense", lambda fw, m: m.predict(DATES, verbose=0),
         V, ("`x`", "datetime64", "numbers")),
    Case("predict-empty", "predict", "dense", lambda fw, m: m.predict(X(0, 3), verbose=0), V,
         ("`x`", "0 samples", "at least 1")),
    Case("predict-batch-size-neg", "predict", "dense",
         lambda fw, m: m.predict(X(4, 3), batch_size=-1, verbose=0), V,
         ("batch_size", "positive integer", "batch_size=-1")),
    Case("predict-steps-neg", "predict", "dense",
         lambda fw, m: m.predict(X(4, 3), steps=-2, verbose=0), V,
         ("steps", "positive integer", "steps=-2")),
    Case("predict-rank-1d", "predict", "dense", lambda fw, m: m.predict(X(4), verbose=0), V,
         ("input", "(none, 3)", "(4,)")),
    Case("predict-rank-extra", "predict", "dense",
         lambda fw, m: m.predict(X(4, 3, 1, 1), verbose=0), V,
         ("input", "(none, 3)", "(4, 3, 1, 1)")),
    Case("predict-x-inf", "predict", "dense",
         lambda fw, m: m.predict(nan_at(X(4, 3), 2, np.inf), verbose=0), W,
         ("`x`", "2 inf", "finite")),
    Case("predict-ragged", "predict", "dense", lambda fw, m: m.predict(RAGGED, verbose=0), V,
         ("`x`", "rectangular", "[[1.0, 2.0, 3.0], [1.0, 2.0]]")),
    Case("predict-two-inputs-count", "predict", "two",
         lambda fw, m: m.predict([X(4, 3)], verbose=0), V, ("2 input", "'a'", "1 array")),
    Case("predict-two-inputs-shape", "predict", "two",
         lambda fw, m: m.predict([X(4, 3), X(4, 3, 2)], verbose=0), V,
         ("input", "(none, 2)", "(4, 3, 2)")),
    # ---------------------------------------------------------------- train_on_batch
    Case("tob-x-str", "train_on_batch", "dense", lambda fw, m: m.train_on_batch(STR, Y2), V,
         ("`x`", "dtype", "<U1")),
    Case("tob-y-object", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(X(4, 3), np.array([[None, 1]] * 4)), V,
         ("`y`", "object", "numbers")),
    Case("tob-empty", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(X(0, 3), X(0, 2)), V, ("`x`", "0 samples", "1")),
    Case("tob-x-nan", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(nan_at(X(4, 3), 4), Y2), W,
         ("`x`", "4 nan", "finite"), changes=True),
    Case("tob-sparse-float-labels", "train_on_batch", "sparse",
         lambda fw, m: m.train_on_batch(X(4, 3), np.array([0.5, 1.0, 2.0, 1.2])), W,
         ("`y`", "2 non-integer", "0.5"), changes=True),
    Case("tob-sparse-label-range", "train_on_batch", "sparse",
         lambda fw, m: m.train_on_batch(X(4, 3), np.array([0, 1, 7, 1])), V,
         ("label value of 7", "[0, 2]", "3 classes")),
    Case("tob-rank", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(X(4, 3, 2), Y2), V, ("input", "(none, 3)", "(4, 3, 2)")),
    Case("tob-rnn-batch", "train_on_batch", "rnn",
         lambda fw, m: m.train_on_batch(X(3, 5, 3), X(3, 1)), V,
         ("simple_rnn", "batch size 2", "(3, 5, 3)")),
    Case("tob-rnn-features", "train_on_batch", "rnn",
         lambda fw, m: m.train_on_batch(X(2, 5, 4), X(2, 1)), V,
         ("simple_rnn", "(2, 5, 3)", "(none, 5, 4)")),
    Case("tob-target-shape", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(X(4, 3), X(4, 5)), V, ("target", "(4, 5)", "(none, 2)")),
    Case("tob-sw-cardinality", "train_on_batch", "dense",
         lambda fw, m: m.train_on_batch(X(4, 3), Y2, sample_weight=np.ones(3)), V,
         ("cardinality", "x sizes: 4", "sample_weight sizes: 3")),
    # ---------------------------------------------------------------- test_on_batch
    Case("test-x-complex", "test_on_batch", "dense",
         lambda fw, m: m.test_on_batch(CPLX, Y2), V, ("`x`", "complex", "numbers")),
    Case("test-y-str", "test_on_batch", "dense",
         lambda fw, m: m.test_on_batch(X(4, 3), np.array([["1", "2"]] * 4)), V,
         ("`y`", "dtype", "<U1")),
    Case("test-empty", "test_on_batch", "dense",
         lambda fw, m: m.test_on_batch(X(0, 3), X(0, 2)), V, ("`x`", "0 samples", "1")),
    Case("test-y-nan", "test_on_batch", "dense",
         lambda fw, m: m.test_on_batch(X(4, 3), nan_at(Y2, 2)), W, ("`y`", "2 nan", "finite")),
    Case("test-rank", "test_on_batch", "dense",
         lambda fw, m: m.test_on_batch(X(4, 6, 2), Y2), V, ("input", "(none, 3)", "(4, 6, 2)")),
    Case("test-rnn-batch", "test_on_batch", "rnn",
         lambda fw, m: m.test_on_batch(X(4, 5, 3), X(4, 1)), V,
         ("simple_rnn", "batch size 2", "(4, 5, 3)")),
    Case("test-sparse-negative", "test_on_batch", "sparse",
         lambda fw, m: m.test_on_batch(X(4, 3), np.array([0, -1, 2, 1])), V,
         ("label value of -1", "[0, 2]", "3 classes")),
    # ---------------------------------------------------------------- predict_on_batch
    Case("pob-x-str", "predict_on_batch", "dense", lambda fw, m: m.predict_on_batch(STR), V,
         ("`x`", "dtype", "<U1")),
    Case("pob-x-object", "predict_on_batch", "dense", lambda fw, m: m.predict_on_batch(OBJ),
         V, ("`x`", "object", "numbers")),
    Case("pob-empty", "predict_on_batch", "dense",
         lambda fw, m: m.predict_on_batch(X(0, 3)), V, ("`x`", "0 samples", "1")),
    Case("pob-rank", "predict_on_batch", "dense", lambda fw, m: m.predict_on_batch(X(4)), V,
         ("input", "(none, 3)", "(4,)")),
    Case("pob-x-nan", "predict_on_batch", "dense",
         lambda fw, m: m.predict_on_batch(nan_at(X(4, 3), 3)), W, ("`x`", "3 nan", "finite")),
    Case("pob-rnn-batch", "predict_on_batch", "rnn",
         lambda fw, m: m.predict_on_batch(X(3, 5, 3)), V,
         ("simple_rnn", "batch size 2", "(3, 5, 3)")),
    Case("pob-features", "predict_on_batch", "dense",
         lambda fw, m: m.predict_on_batch(X(4, 7)), V, ("(none, 3)", "(none, 7)", "dense")),
    # ---------------------------------------------------------------- model(x)
    Case("call-x-str", "model(x)", "dense", lambda fw, m: m(STR), V, ("`x`", "dtype", "<U1")),
    Case("call-rank", "model(x)", "dense", lambda fw, m: m(X(4, 3, 2)), V,
         ("input", "(none, 3)", "(4, 3, 2)")),
    Case("call-complex", "model(x)", "dense", lambda fw, m: m(CPLX), V,
         ("`x`", "complex", "numbers")),
    Case("call-two-count", "model(x)", "two", lambda fw, m: m([X(4, 3), X(4, 2), X(4, 2)]), V,
         ("2 input", "'a'", "3 array")),
    Case("call-rnn-features", "model(x)", "rnn", lambda fw, m: m(X(2, 5, 6)), V,
         ("simple_rnn", "(2, 5, 3)", "(none, 5, 6)")),
    # ---------------------------------------------------------------- Input
    Case("input-negative", "Input", "none", lambda fw, m: fw.Input((-1, 3)), V,
         ("shape", "non-negative", "-1")),
    Case("input-negative-batch-shape", "Input", "none",
         lambda fw, m: fw.Input(batch_shape=(None, 3, -2)), V,
         ("batch_shape", "non-negative", "-2")),
    Case("input-float-dim", "Input", "none", lambda fw, m: fw.Input((2.5,)), V,
         ("shape", "integers", "2.5")),
    Case("input-str-dim", "Input", "none", lambda fw, m: fw.Input(("3",)), V,
         ("shape", "integers", "'3'")),
    Case("input-no-shape", "Input", "none", lambda fw, m: fw.Input(), V,
         ("shape", "batch_shape", "shape=none")),
    Case("input-bad-dtype", "Input", "none", lambda fw, m: fw.Input((3,), dtype="banana"), V,
         ("dtype", "float32", "banana")),
    Case("input-bad-batch-size", "Input", "none", lambda fw, m: fw.Input((3,), batch_size=-2),
         V, ("batch_size", "positive integer", "-2")),
    # ---------------------------------------------------------------- layer constructors
    Case("dense-units-0", "layers", "none", _layer("Dense", 0), V,
         ("units", "positive integer", "units=0")),
    Case("dense-units-neg", "layers", "none", _layer("Dense", -3), V,
         ("units", "positive integer", "units=-3")),
    Case("dense-units-float", "layers", "none", _layer("Dense", 2.5), V,
         ("units", "positive integer", "units=2.5")),
    Case("dense-units-str", "layers", "none", _layer("Dense", "8"), V,
         ("units", "positive integer", "units='8'")),
    Case("dense-activation", "layers", "none", _layer("Dense", 4, activation="banana"), V,
         ("activation", "banana", "relu")),
    Case("dropout-rate-high", "layers", "none", _layer("Dropout", 1.5), V,
         ("rate", "between 0 and 1", "rate=1.5")),
    Case("dropout-rate-neg", "layers", "none", _layer("Dropout", -0.1), V,
         ("rate", "between 0 and 1", "rate=-0.1")),
    Case("conv-filters-0", "layers", "none", _layer("Conv2D", 0, 3), V,
         ("filters", "positive integer", "filters=0")),
    Case("conv-kernel-0", "layers", "none", _layer("Conv2D", 4, 0), V,
         ("kernel_size", "positive", "0")),
    Case("conv-padding", "layers", "none", _layer("Conv2D", 4, 3, padding="full"), V,
         ("padding", "valid", "full")),
    Case("pool-size-0", "layers", "none", _layer("MaxPooling2D", 0), V,
         ("pool_size", "positive", "0")),
    Case("rnn-units-0", "layers", "none", _layer("SimpleRNN", 0), V,
         ("units", "positive integer", "got 0")),
    Case("lstm-units-neg", "layers", "none", _layer("LSTM", -1), V,
         ("units", "positive integer", "got -1")),
    Case("gru-units-float", "layers", "none", _layer("GRU", 1.5), V,
         ("units", "positive integer", "got 1.5")),
    Case("reshape-negative", "layers", "none", _layer("Reshape", (-2, 3)), V,
         ("target_shape", "(-2, 3)", "-1")),
    Case("dense-input-shape-neg", "layers", "none", _layer("Dense", 2, input_shape=(-3,)), V,
         ("input_shape", "non-negative", "-3")),
    Case("dropout-rate-str", "layers", "none", _layer("Dropout", "a"), V,
         ("rate", "between 0 and 1", "rate=a")),
    Case("concatenate-axis-str", "layers", "none", _layer("Concatenate", axis="x"), V,
         ("axis", "integer", "'x'")),
    Case("dot-axes-str", "layers", "none", _layer("Dot", "x"), T,
         ("axes", "list or an int", "axes='x'")),
    Case("dot-axes-three", "layers", "none", _layer("Dot", (1, 2, 3)), V,
         ("axes", "two elements", "(1, 2, 3)")),
    Case("spatial-dropout-rate-high", "layers", "none", _layer("SpatialDropout1D", 1.5), V,
         ("rate", "between 0 and 1", "rate=1.5")),
    Case("gaussian-dropout-rate-neg", "layers", "none", _layer("GaussianDropout", -0.5), V,
         ("rate", "between 0 and 1", "rate=-0.5")),
    Case("gaussian-noise-stddev-neg", "layers", "none", _layer("GaussianNoise", -1.0), V,
         ("stddev", "non-negative", "stddev=-1.0")),
    Case("upsampling1d-size-0", "layers", "none", _layer("UpSampling1D", 0), V,
         ("size", "positive integer", "size=0")),
    Case("zeropadding1d-negative", "layers", "none", _layer("ZeroPadding1D", -1), V,
         ("padding", "tuple of 2 integers", "padding=-1")),
    Case("cropping1d-three", "layers", "none", _layer("Cropping1D", (1, 2, 3)), V,
         ("cropping", "tuple of 2 integers", "(1, 2, 3)")),
    # ---------------------------------------------------------------- compile
    Case("compile-loss", "compile", "dense", lambda fw, m: m.compile("sgd", "msee"), V,
         ("loss", "msee", "mse")),
    Case("compile-optimizer", "compile", "dense", lambda fw, m: m.compile("sgdd", "mse"), V,
         ("optimizer", "sgdd", "sgd")),
    Case("compile-metric", "compile", "dense",
         lambda fw, m: m.compile("sgd", "mse", metrics=["accurasy"]), V,
         ("metric", "accurasy", "accuracy")),
    Case("compile-loss-int", "compile", "dense", lambda fw, m: m.compile("sgd", 3), V,
         ("loss", "3", "named loss")),
    Case("compile-optimizer-int", "compile", "dense", lambda fw, m: m.compile(5, "mse"), V,
         ("optimizer", "5", "sgd")),
    Case("compile-loss-weights-count", "compile", "two",
         lambda fw, m: m.compile("sgd", "mse", loss_weights=[1.0, 2.0]), V,
         ("loss_weights", "2", "1 output")),
    Case("compile-loss-dict-unknown", "compile", "two",
         lambda fw, m: m.compile("sgd", {"nope": "mse"}), V, ("nope", "output", "dense")),
    Case("compile-loss-weights-str", "compile", "dense",
         lambda fw, m: m.compile("sgd", "mse", loss_weights="x"), V,
         ("loss_weights", "number", "'x'")),
    # ---------------------------------------------------------------- optimizers
    Case("opt-lr-neg", "optimizers", "none", _sgd(learning_rate=-0.1), W,
         ("learning_rate=-0.1", "negative", "positive")),
    Case("opt-lr-nan", "optimizers", "none", _sgd(learning_rate=float("nan")), W,
         ("learning_rate=nan", "not finite", "positive")),
    Case("opt-lr-str", "optimizers", "none", _sgd(learning_rate="fast"), V,
         ("learning_rate", "float", "'fast'")),
    Case("opt-momentum-neg", "optimizers", "none", _sgd(momentum=-0.5), V,
         ("momentum", "[0, 1]", "-0.5")),
    Case("opt-momentum-high", "optimizers", "none", _sgd(momentum=1.5), V,
         ("momentum", "[0, 1]", "1.5")),
    Case("opt-adam-beta", "optimizers", "none",
         lambda fw, m: fw.optimizers.Adam(beta_1="x"), V, ("beta_1", "float", "'x'")),
    Case("opt-clipnorm-neg", "optimizers", "none", _sgd(clipnorm=-1.0), V,
         ("clipnorm", ">= 0", "-1.0")),
    Case("opt-clip-both", "optimizers", "none",
         lambda fw, m: fw.optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0), V,
         ("clipnorm", "global_clipnorm", "only one")),
    Case("opt-rmsprop-rho-str", "optimizers", "none",
         lambda fw, m: fw.optimizers.RMSprop(rho=None), V, ("rho", "float", "none")),
    Case("opt-unknown-kwarg", "optimizers", "none", _sgd(lr_typo=0.1), V,
         ("lr_typo", "argument", "not recognized")),
    Case("opt-adam-epsilon-neg", "optimizers", "none",
         lambda fw, m: fw.optimizers.Adam(epsilon=-1.0), V, ("epsilon", ">= 0", "-1.0")),
    Case("opt-ema-momentum-high", "optimizers", "none", _sgd(use_ema=True, ema_momentum=1.5), V,
         ("ema_momentum", "[0, 1]", "1.5")),
    Case("opt-ema-momentum-str", "optimizers", "none", _sgd(use_ema=True, ema_momentum="0.9"),
         T, ("ema_momentum", "float", "'0.9'")),
    Case("opt-ema-frequency-float", "optimizers", "none",
         _sgd(use_ema=True, ema_overwrite_frequency=2.0), V,
         ("ema_overwrite_frequency", "integer >= 1", "2.0")),
    Case("opt-ema-frequency-0", "optimizers", "none",
         _sgd(use_ema=True, ema_overwrite_frequency=0), W,
         ("ema_overwrite_frequency=0", "none", "integer >= 1")),
    Case("opt-ema-without-use-ema", "optimizers", "none", _sgd(ema_momentum=0.9), W,
         ("ema_momentum=0.9", "ignored", "use_ema=True")),
    Case("sched-decay-steps-0", "optimizers", "none",
         lambda fw, m: fw.optimizers.schedules.ExponentialDecay(0.1, 0, 0.9), V,
         ("decay_steps", "> 0", "decay_steps=0")),
    Case("sched-boundaries-values", "optimizers", "none",
         lambda fw, m: fw.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 2.0]), V,
         ("boundaries", "values", "length 2")),
    Case("sched-lr-str", "optimizers", "none",
         lambda fw, m: fw.optimizers.schedules.ExponentialDecay("fast", 10, 0.9), T,
         ("initial_learning_rate", "number", "'fast'")),
    Case("sched-int-lr", "optimizers", "none",
         lambda fw, m: fw.optimizers.schedules.ExponentialDecay(1, 10, 0.9), W,
         ("initial_learning_rate=1", "integer", "1.0")),
    Case("sched-warmup-no-target", "optimizers", "none",
         lambda fw, m: fw.optimizers.schedules.CosineDecay(0.1, 10, warmup_steps=5), W,
         ("warmup_steps=5", "ignored", "warmup_target")),
    Case("sched-set-lr", "optimizers", "none",
         lambda fw, m: setattr(fw.optimizers.SGD(
             fw.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), "learning_rate", 0.01), T,
         ("learningrateschedule", "not settable", "float")),
    # ---------------------------------------------------------------- to_categorical
    Case("tocat-neg", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array([0, -1, 2]), 3), V,
         ("labels", "-1", ">= 0")),
    Case("tocat-out-of-range", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array([0, 5]), 3), V,
         ("label 5", "num_classes=3", "0..2")),
    Case("tocat-str", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array(["a", "b"]), 3), V,
         ("`x`", "dtype", "<U1")),
    Case("tocat-float", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array([0.5, 1.0]), 3), V,
         ("integers", "0.5", "`x`")),
    Case("tocat-num-classes-0", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array([0, 1]), 0), V,
         ("num_classes", "positive integer", "num_classes=0")),
    Case("tocat-num-classes-float", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical(np.array([0, 1]), 2.5), V,
         ("num_classes", "positive integer", "num_classes=2.5")),
    Case("tocat-ragged", "to_categorical", "none",
         lambda fw, m: fw.utils.to_categorical([[0, 1], [2]], 3), V,
         ("`x`", "rectangular", "[[0, 1], [2]]")),
    # ---------------------------------------------------------------- loading
    Case("load-missing", "loading", "none", _load("missing.keras", None), FileNotFoundError,
         ("missing.keras", "no file", "found")),
    Case("load-bad-ext", "loading", "none", _load("model.txt", b"hello"), V,
         ("model.txt", "file format", ".keras")),
    Case("load-corrupt-keras", "loading", "none", _load("corrupt.keras", b"not a zip"), V,
         ("corrupt.keras", ".keras", "corrupt")),
    Case("load-corrupt-h5", "loading", "none", _load("corrupt.h5", b"not hdf5"), V,
         ("corrupt.h5", "hdf5", "corrupt")),
    Case("load-path-int", "loading", "none", lambda fw, m: fw.models.load_model(123), V,
         ("filepath", "path", "123")),
    Case("save-path-int", "loading", "dense", lambda fw, m: m.save(5), V,
         ("filepath", "path", "5")),
    Case("load-weights-missing", "loading", "dense", _load_weights("none.weights.h5", None),
         FileNotFoundError, ("none.weights.h5", "no file", "found")),
    Case("load-weights-bad-ext", "loading", "dense", _load_weights("w.txt", b"x"), V,
         ("w.txt", "file format", ".weights.h5")),
    Case("load-weights-corrupt", "loading", "dense", _load_weights("c.weights.h5", b"bad"), V,
         ("c.weights.h5", "hdf5", "corrupt")),
    # ---------------------------------------------------------------- fit on Python batches
    Case("fit-gen-y", "fit", "dense", _fit_gen([(X(4, 3), Y2)], y=Y2), V,
         ("`y`", "generator", "should not be passed")),
    Case("fit-gen-class-weight", "fit", "dense", _fit_gen([(X(4, 3), Y2)], class_weight={0: 1}),
         V, ("class_weight", "generator", "not supported")),
    Case("fit-gen-val-split", "fit", "dense", _fit_gen([(X(4, 3), Y2)], validation_split=0.5),
         V, ("validation_split", "only supported", "arrays")),
    Case("fit-gen-first-batch-str", "fit", "dense", _fit_gen([(STR, Y2)]), V,
         ("batch 0", "`x`", "dtype", "<U1")),
    Case("fit-gen-batch-not-tuple", "fit", "dense", _fit_gen([X(4, 3)]), V,
         ("batch 0", "tuple", "ndarray")),
    Case("fit-pyds-first-batch-shape", "fit", "dense", _fit_pyds([(X(4, 5), Y2)]), V,
         ("batch 0", "PyDataset", "5")),
]


def test_enough_distinct_cases_per_entry_point() -> None:
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)
    per_entry: dict[str, int] = {}
    for c in CASES:
        per_entry[c.entry] = per_entry.get(c.entry, 0) + 1
    assert min(per_entry.values()) >= 5, per_entry


@pytest.fixture(autouse=True)
def _tmp_for_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAD_INPUTS_TMP", str(tmp_path))


def _mk() -> Any:
    minikeras.backend.clear_session()
    minikeras.utils.set_random_seed(0)
    return minikeras


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case) -> None:
    fw = _mk()
    model = build(fw, case.model)
    before = snapshot(fw, model)
    if issubclass(case.kind, Warning):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            case.run(fw, model)
        hits = [w for w in caught if issubclass(w.category, case.kind)
                and all(s.lower() in str(w.message).lower() for s in case.expect)]
        assert hits, [str(w.message) for w in caught]
        # the warning points at the line that made the call (this file), not inside minikeras
        assert Path(hits[0].filename).resolve() == Path(__file__).resolve(), hits[0].filename
        message = str(hits[0].message)
    else:
        with pytest.raises(case.kind) as info:
            case.run(fw, model)
        message = str(info.value)
        last = Path(str(info.traceback[-1].path)).resolve()
        assert PACKAGE in last.parents, f"raised from {last}, not minikeras' own code"
        missing = [s for s in case.expect if s.lower() not in message.lower()]
        assert not missing, f"{missing} not in: {message}"
    if not case.changes:
        assert same(before, snapshot(fw, model)), "a failing call changed the model's state"


# --------------------------------------------------------------------------- accepted as Keras
# Input rank, measured in Keras 3.15.1: for an input of shape (None, 1) a 1-D array is
# expanded; one extra trailing axis of size 1 is squeezed ((4, 3, 1) into Input((3,))); a
# missing one is added ((4, 5) into Input((5, 1))); (4,) into Input((5,)) is an error (above).
def _seq(shape: tuple, units: int = 1) -> Any:
    fw = _mk()
    m = fw.Sequential([fw.Input(shape), fw.layers.Dense(units)])
    m.compile("sgd", "mse")
    return m


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict", "train_on_batch",
                                  "test_on_batch", "predict_on_batch", "model(x)", "val"])
def test_1d_data_into_a_one_feature_input_is_expanded(call: str) -> None:
    m = _seq((1,))
    x = np.linspace(-1, 1, 8).astype("float32")
    y = 0.5 * x + 2
    calls = {"fit": lambda: m.fit(x, y, epochs=1, verbose=0).history["loss"][0],
             "evaluate": lambda: m.evaluate(x, y, verbose=0),
             "predict": lambda: m.predict(x, verbose=0),
             "train_on_batch": lambda: m.train_on_batch(x, y),
             "test_on_batch": lambda: m.test_on_batch(x, y),
             "predict_on_batch": lambda: m.predict_on_batch(x),
             "model(x)": lambda: m(x),
             "val": lambda: m.fit(x[:, None], y, validation_data=(x, y), verbose=0)
             .history["val_loss"][0]}
    out = calls[call]()
    if isinstance(out, np.ndarray):
        assert out.shape == (8, 1)
        np.testing.assert_allclose(out, m.predict(x[:, None], verbose=0), rtol=1e-6)
    else:
        assert np.isfinite(out)


def test_extra_and_missing_trailing_axis_of_size_1() -> None:
    m = _seq((3,), units=2)
    x = X(4, 3)
    np.testing.assert_array_equal(m.predict(x[..., None], verbose=0), m.predict(x, verbose=0))
    m5 = _seq((5, 1), units=2)
    assert m5.predict(X(4, 5), verbose=0).shape == (4, 5, 2)


def test_functional_rank_adjusted_per_input() -> None:
    fw = _mk()
    a, b = fw.Input((1,), name="a"), fw.Input((2,), name="b")
    m = fw.Model([a, b], fw.layers.Dense(1)(fw.layers.Concatenate()([a, b])))
    m.compile("sgd", "mse")
    x1 = np.linspace(-1, 1, 8).astype("float32")
    out = m.predict([x1, X(8, 2)], verbose=0)
    np.testing.assert_array_equal(out, m.predict([x1[:, None], X(8, 2)], verbose=0))
    assert np.isfinite(m.train_on_batch({"a": x1, "b": X(8, 2)}, x1))


def test_nested_list_of_numbers_is_one_array_and_a_list_of_arrays_is_several_inputs() -> None:
    m = _seq((3,), units=2)
    rows = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    np.testing.assert_allclose(m.predict(rows, verbose=0),
                               m.predict(np.array(rows, "float32"), verbose=0))
    assert np.isfinite(m.train_on_batch(rows, [[1.0, 2.0], [3.0, 4.0]]))


def test_a_single_callback_is_accepted() -> None:
    fw = _mk()
    m = _seq((3,), units=2)
    history = fw.callbacks.History()
    m.fit(X(4, 3), Y2, epochs=2, verbose=0, callbacks=history)
    assert history.epoch == [0, 1]


def test_nan_loss_warned_once_per_fit_from_the_reads_fit_already_makes(monkeypatch) -> None:
    """The loss is read from the device only where fit reads it anyway (the epoch-end logs
    with verbose=0): no extra read per batch, and one warning per fit."""
    fw = _mk()
    m = fw.Sequential([fw.Input((3,)), fw.layers.Dense(2)])
    m.compile(fw.optimizers.SGD(1e30), "mse")
    reads = []
    original = m._logs
    monkeypatch.setattr(m, "_logs", lambda *a: reads.append(1) or original(*a))
    x = X(64, 3) * 1e3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.fit(x, X(64, 2), epochs=3, batch_size=16, verbose=0)
    assert len(reads) == 3          # one per epoch: 4 batches each, no per-batch read
    nan = [w for w in caught if "training loss became" in str(w.message)]
    assert len(nan) == 1 and "epoch 1" in str(nan[0].message)
    assert Path(nan[0].filename).resolve() == Path(__file__).resolve()
    with warnings.catch_warnings(record=True) as caught:   # a new fit warns again, once
        warnings.simplefilter("always")
        m.fit(x, X(64, 2), epochs=2, batch_size=16, verbose=0)
    assert len([w for w in caught if "training loss became" in str(w.message)]) == 1


def test_no_nan_warning_for_a_healthy_fit() -> None:
    m = _seq((3,), units=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit(X(16, 3), X(16, 2), epochs=2, verbose=0)

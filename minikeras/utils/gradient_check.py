"""Finite-difference gradient checks: the proof that a hand-written backward is right.

For a layer f with output y = f(x; W), pick a random upstream gradient G and the scalar
L = sum(G * f(x; W)). Then ``backward(G)`` must return dL/dx and put dL/dW in each weight's
``grad``. Each is compared with the central difference

    dL/dθ ≈ (L(θ + ε) − L(θ − ε)) / 2ε

on a sample of entries. In float32 the round-off would swamp the difference quotient, so
``gradient_check`` runs everything in float64 (and puts the model back as it was after);
``check_layer_gradients`` expects a layer already built in float64.

Two entry points share the machinery:

* ``gradient_check(model_or_layer, x, y=None)``: a learner's tool. For a compiled model and
  targets y the scalar is the compiled loss (so the softmax/cross-entropy shortcut is checked
  too); prints a table and returns the largest relative error per weight and input.
* ``check_layer_gradients(layer, x)``: what the unit tests assert with (absolute tolerances).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minikeras import backend

# The relative error of one entry is |a − n| / max(|a|, |n|, floor), floor = SCALE_FLOOR times
# the largest |a| of the same weight (and at least ABS_FLOOR). Central differences carry
# ~1e-10 of float64 noise; without the floor an entry a million times smaller than its
# neighbours (an early time step of an RNN, a nearly dead relu) would divide that noise by
# almost nothing. A wrong formula still shows: it is wrong on the large entries too.
SCALE_FLOOR = 1e-4
ABS_FLOOR = 1e-12
# Two errors pull ε opposite ways: round-off (~1e-16·|L|/ε) wants it large, and a relu or a
# max that switches within ±ε (likely in a CNN, where one kernel entry moves every pixel)
# wants it small. An entry that disagrees at ε is measured again at 100ε; the better of the
# two counts. A wrong backward disagrees at both.
RETRY_ABOVE = 1e-6
RETRY_FACTOR = 100.0


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _loss(layer: Any, inputs: Any, upstream: list, training: bool, before: Any) -> float:
    if before is not None:
        before()
    out = _as_list(layer.forward(inputs, training=training))
    return float(sum(backend.to_numpy((o * g).sum()) for o, g in zip(out, upstream, strict=True)))


def _sample(size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(size) if size <= count else rng.choice(size, count, replace=False)


def _central(flat: Any, idx: int, scalar: Callable[[], float], eps: float) -> float:
    """(L(θ + ε) − L(θ − ε)) / 2ε for entry ``idx`` of ``flat``, which is nudged in place (a
    view of an array the forward pass reads: a weight's value or the input itself)."""
    old = float(flat[idx])
    flat[idx] = old + eps
    up = scalar()
    flat[idx] = old - eps
    down = scalar()
    flat[idx] = old
    return (up - down) / (2 * eps)


def _compare(array: Any, analytic: Any, scalar: Callable[[], float], eps: float,
             max_entries: int, rng: np.random.Generator) -> Iterator[tuple[int, float, float]]:
    """Yield (flat index, analytic, numeric) for a sample of ``array``'s entries."""
    analytic = backend.to_numpy(analytic).reshape(-1)
    flat = array.reshape(-1)
    for idx in _sample(flat.size, max_entries, rng):
        yield int(idx), float(analytic[idx]), _central(flat, int(idx), scalar, eps)


def check_layer_gradients(layer: Any, inputs: Any, *, training: bool = False, eps: float = 1e-6,
                          rtol: float = 1e-5, atol: float = 1e-6, max_entries: int = 40,
                          seed: int = 0, before_forward: Any = None) -> dict[str, float]:
    """Compare ``layer.backward`` with central differences; raise AssertionError on mismatch.

    ``inputs`` is one array or a list (merge layers). ``before_forward`` is called before each
    forward (e.g. to reset a stateful layer). Returns the largest absolute error per quantity.
    """
    rng = np.random.default_rng(seed)
    xs = [backend.to_device(np.asarray(backend.to_numpy(x), dtype=np.float64)) for x in
          _as_list(inputs)]
    call_in = xs if isinstance(inputs, list | tuple) else xs[0]
    layer.build_for([tuple(x.shape) for x in xs] if isinstance(inputs, list | tuple)
                    else tuple(xs[0].shape))
    if before_forward is not None:
        before_forward()
    outs = _as_list(layer.forward(call_in, training=training))
    upstream = [backend.to_device(rng.standard_normal(tuple(o.shape))) for o in outs]
    layer.zero_grads()
    dx = layer.backward(upstream if len(upstream) > 1 else upstream[0])
    dxs = _as_list(dx)
    report: dict[str, float] = {}
    targets = [(f"input{i}", x, d) for i, (x, d) in enumerate(zip(xs, dxs, strict=False))
               if d is not None]
    targets += [(w.name, w.value, w.grad) for w in layer.trainable_weights]

    def scalar() -> float:
        return _loss(layer, call_in, upstream, training, before_forward)

    for name, array, analytic in targets:
        if analytic is None:
            raise AssertionError(f"{layer.name}: no gradient was computed for {name}.")
        worst = 0.0
        for idx, a, numeric in _compare(array, analytic, scalar, eps, max_entries, rng):
            err = abs(numeric - a)
            if err > atol + rtol * max(abs(numeric), abs(a)):
                raise AssertionError(
                    f"{layer.name}: gradient of {name}[{idx}] is {a!r} by "
                    f"backward but {numeric!r} by finite differences (error {err:.3g})."
                )
            worst = max(worst, err)
        report[name] = worst
    return report


# ---------------------------------------------------------------------- float64, then back
def _all_layers(layer: Any) -> list[Any]:
    """The layer and everything inside it: a model's layers, nested models, wrapped layers."""
    out, todo = [], [layer]
    while todo:
        la = todo.pop()
        if any(la is seen for seen in out):
            continue
        out.append(la)
        todo.extend(getattr(la, "layers", None) or [])
        todo.extend(la.__dict__.get("_sublayers", []))
    return out


@contextlib.contextmanager
def float64_copy(model_or_layer: Any) -> Iterator[None]:
    """Run a float32 model in float64 for a while: floatx, every layer's dtype, every weight's
    value and a stateful layer's state become float64 copies; on exit the original arrays
    (untouched) are put back, so training continues bit for bit as if nothing happened."""
    xp = backend.xp
    layers = _all_layers(model_or_layer)
    saved_floatx = backend.floatx()
    saved_dtypes = [la.dtype for la in layers]
    variables = list({id(w): w for la in layers for w in la.weights}.values())
    saved_values = [(w.value, w.grad) for w in variables]
    saved_states = [getattr(la, "states", None) for la in layers]
    try:
        backend.set_floatx("float64")
        for la in layers:
            la.dtype = "float64"
            if getattr(la, "states", None) is not None:
                la.states = [xp.asarray(s, dtype=xp.float64) for s in la.states]
        for w in variables:
            w.value = xp.array(w.value, dtype=xp.float64)
            w.grad = None
        yield
    finally:
        backend.set_floatx(saved_floatx)
        for la, dtype, states in zip(layers, saved_dtypes, saved_states, strict=True):
            la.dtype = dtype
            if states is not None:
                la.states = states
        for w, (value, grad) in zip(variables, saved_values, strict=True):
            w.value, w.grad = value, grad


# ---------------------------------------------------------------------- the learner's tool
def _scalar_and_upstream(model: Any, xs: list[Any], y: Any, rng: np.random.Generator) -> tuple:
    """How L is defined: (forward -> L, the analytic pass that fills dL/dW, returns dL/dx)."""
    is_model = hasattr(model, "_forward")
    call_in = xs if len(xs) > 1 else xs[0]
    if is_model and y is not None:
        if model.compiled:
            _, ys, _, _ = model._prepare([backend.to_numpy(x) for x in xs]
                                         if len(xs) > 1 else backend.to_numpy(xs[0]), y)
            ys = [backend.to_device(a) for a in ys]

            def loss_and_grads(outs: list[Any]) -> tuple[float, list, list]:
                total, grads, flags = model._loss_and_grads(ys, outs, None)
                return backend.to_float(total), grads, flags
        else:   # not compiled: mean squared error against y
            ys = [backend.to_device(np.asarray(a, dtype=np.float64)) for a in model._y_list(y)]

            def loss_and_grads(outs: list[Any]) -> tuple[float, list, list]:
                diffs = [o - t.reshape(o.shape) for o, t in zip(outs, ys, strict=True)]
                total = sum(backend.to_float((d * d).sum()) / d.size for d in diffs)
                return total, [2 * d / d.size for d in diffs], [False] * len(diffs)

        def scalar() -> float:
            model.reset_states()
            return loss_and_grads(model._forward(xs, training=False))[0]

        def analytic() -> list[Any]:
            model.reset_states()
            _, grads, flags = loss_and_grads(model._forward(xs, training=False))
            return _as_list(model._backward(grads, flags))

        return scalar, analytic
    # no targets (or a bare layer): L = sum(G * f(x)) with a fixed random G
    model.reset_state()
    outs = _as_list(model.forward(call_in, training=False))
    upstream = [backend.to_device(rng.standard_normal(tuple(o.shape))) for o in outs]

    def scalar() -> float:
        return _loss(model, call_in, upstream, False, model.reset_state)

    def analytic() -> list[Any]:
        model.reset_state()
        model.forward(call_in, training=False)
        return _as_list(model.backward(upstream if len(upstream) > 1 else upstream[0]))

    return scalar, analytic


def gradient_check(model_or_layer: Any, x: Any, y: Any = None, *, eps: float = 1e-6,
                   max_entries: int = 10, seed: int = 0, verbose: bool = True,
                   print_fn: Callable[[str], Any] = print) -> dict[str, float]:
    """Check every hand-written gradient of a model (or layer) against central differences.

    Runs in float64 on a copy of the weights, then restores the model exactly. The scalar
    is the compiled loss when ``y`` is given (mean squared error if the model is not
    compiled), else L = sum(G * output) for a random G. Stateful layers are reset before
    every forward pass and dropout is off (``training=False``). ``max_entries`` entries of
    each weight and input are checked (all of them when smaller).

    Prints a table (unless ``verbose=False``) and returns ``{name: max relative error}`` for
    each trainable weight (``'dense/kernel'``) and each input (``'input'``, or
    ``'input_0'``, ``'input_1'``... for several); an input whose gradient is not computed is
    left out. Below ~1e-6 the backward pass is right; a wrong one gives ~1e-1 or more.
    """
    rng = np.random.default_rng(seed)
    layer = model_or_layer
    x_list = _as_list(x)
    # build first, in the model's own dtype, so that every weight exists before the copy
    xs32 = [backend.to_device(np.asarray(backend.to_numpy(a))) for a in x_list]
    if hasattr(layer, "_ensure_built"):
        layer._ensure_built(xs32)
    else:
        layer.build_for([tuple(a.shape) for a in xs32] if len(xs32) > 1 else tuple(xs32[0].shape))
    with float64_copy(layer):
        xs = [backend.to_device(np.array(backend.to_numpy(a), dtype=np.float64)) for a in x_list]
        scalar, analytic = _scalar_and_upstream(layer, xs, y, rng)
        layer.zero_grads()
        dxs = analytic()
        names = ["input"] if len(xs) == 1 else [f"input_{i}" for i in range(len(xs))]
        targets = [(w.name, w.value, w.grad) for w in layer.trainable_weights]
        targets += [(n, a, d) for n, a, d in zip(names, xs, dxs, strict=False) if d is not None]
        rows, report = [], {}
        for name, array, grad in targets:
            if grad is None:
                raise AssertionError(f"{layer.name}: backward computed no gradient for {name}.")
            worst = 0.0
            floor = max(SCALE_FLOOR * float(backend.to_numpy(abs(grad).max())), ABS_FLOOR)
            for idx, a, n in _compare(array, grad, scalar, eps, max_entries, rng):
                err = abs(a - n) / max(abs(a), abs(n), floor)
                if err > RETRY_ABOVE:   # round-off, or a kink within eps: try a larger step
                    n = _central(array.reshape(-1), idx, scalar, eps * RETRY_FACTOR)
                    err = min(err, abs(a - n) / max(abs(a), abs(n), floor))
                worst = max(worst, err)
            report[name] = worst
            rows.append((name, str(tuple(array.shape)), min(array.size, max_entries), worst))
    if verbose:
        _print_table(layer.name, eps, rows, print_fn)
    return report


def _print_table(name: str, eps: float, rows: list[tuple], print_fn: Callable) -> None:
    width = max([len("weight")] + [len(r[0]) for r in rows]) + 2
    shape_w = max([len("shape")] + [len(r[1]) for r in rows]) + 2
    print_fn(f"Gradient check of '{name}' (float64, central differences, eps={eps:g})")
    print_fn(f"{'weight':<{width}}{'shape':<{shape_w}}{'checked':>8}  max rel. error")
    for weight, shape, count, err in rows:
        flag = "" if err < 1e-4 else "   <-- check this backward"
        print_fn(f"{weight:<{width}}{shape:<{shape_w}}{count:>8}  {err:.1e}{flag}")

"""Finite-difference gradient checks: the proof that a hand-written backward is right.

For a layer f with output y = f(x; W), pick a random upstream gradient G and the scalar
L = sum(G * f(x; W)). Then ``backward(G)`` must return dL/dx and put dL/dW in each weight's
``grad``. Each is compared with the central difference

    dL/dθ ≈ (L(θ + ε) − L(θ − ε)) / 2ε

on a sample of entries. Run it in float64 (``backend.set_floatx("float64")`` before building
the layer): float32 round-off would swamp the difference quotient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras import backend


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _loss(layer: Any, inputs: Any, upstream: list, training: bool, before: Any) -> float:
    if before is not None:
        before()
    out = _as_list(layer.forward(inputs, training=training))
    return float(sum(backend.to_numpy((o * g).sum()) for o, g in zip(out, upstream, strict=True)))


def _sample(size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(size) if size <= count else rng.choice(size, count, replace=False)


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
    for name, array, analytic in targets:
        if analytic is None:
            raise AssertionError(f"{layer.name}: no gradient was computed for {name}.")
        analytic = backend.to_numpy(analytic).reshape(-1)
        flat = array.reshape(-1)
        worst = 0.0
        for idx in _sample(flat.size, max_entries, rng):
            old = float(flat[idx])
            flat[idx] = old + eps
            up = _loss(layer, call_in, upstream, training, before_forward)
            flat[idx] = old - eps
            down = _loss(layer, call_in, upstream, training, before_forward)
            flat[idx] = old
            numeric = (up - down) / (2 * eps)
            err = abs(numeric - analytic[idx])
            if err > atol + rtol * max(abs(numeric), abs(analytic[idx])):
                raise AssertionError(
                    f"{layer.name}: gradient of {name}[{idx}] is {analytic[idx]!r} by "
                    f"backward but {numeric!r} by finite differences (error {err:.3g})."
                )
            worst = max(worst, err)
        report[name] = worst
    return report

"""Where one training step of the tutorial CNN spends its time, on the current backend.

    MINIKERAS_BACKEND=cupy python -m benchmarks.profile_step [--format channels_last]

Times (median of several runs, with a device synchronisation around each part) every layer's
forward and backward, the loss, the optimizer update and the whole ``_train_step``, then a few
alternatives for the two pieces that launch many small GPU kernels: the Adam update (one
element-wise kernel per operation vs ``cupy.fuse``) and col2im.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import minikeras as mk
from benchmarks.bench_cnn import BATCH, build_cnn
from minikeras import backend


def timed(fn: Callable[[], Any], repeats: int = 20) -> float:
    """Median milliseconds of ``fn`` (after two warm-up calls), device work included."""
    for _ in range(2):
        fn()
    backend.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        backend.synchronize()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def profile(fmt: str) -> list[tuple[str, float]]:
    mk.utils.set_random_seed(0)
    model = build_cnn(mk, fmt)
    model.compile(optimizer=mk.optimizers.Adam(1e-4), loss="categorical_crossentropy")
    shape = (BATCH, 28, 28, 1) if fmt == "channels_last" else (BATCH, 1, 28, 28)
    rng = np.random.default_rng(0)
    x = backend.to_device(rng.random(shape, dtype=np.float32))
    y = backend.to_device(np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)])
    rows = [("whole _train_step", timed(lambda: model._train_step([x], [y])))]
    acts = [x]
    for layer in model.layers:
        acts.append(layer.forward(acts[-1], training=True))
    for i, layer in enumerate(model.layers):
        rows.append((f"{layer.name} forward", timed(lambda la=layer, a=acts[i]:
                                                    la.forward(a, training=True))))
    grad = backend.xp.full(acts[-1].shape, 0.01, dtype=np.float32)
    for i, layer in reversed(list(enumerate(model.layers))):
        layer.forward(acts[i], training=True)
        layer.input_grad_needed = i > 0
        last = i == len(model.layers) - 1
        fn = (lambda la=layer, g=grad: la.backward_from_logits(g)) if last else (
            lambda la=layer, g=grad: la.backward(g))
        rows.append((f"{layer.name} backward", timed(fn)))
        layer.zero_grads()
        grad = fn()
        layer.input_grad_needed = True
        layer.zero_grads()
    outs = model._forward([x], training=True)
    rows.append(("loss and its gradient", timed(lambda: model._loss_and_grads([y], outs, None))))
    weights = model.trainable_weights
    grads = [backend.xp.full(w.shape, 1e-3, dtype=np.float32) for w in weights]
    rows.append(("Adam update (all weights)", timed(lambda: model.optimizer.apply(grads,
                                                                                  weights))))
    if backend.is_gpu():
        rows += fused_adam_alternative(weights, grads)
    return rows


def fused_adam_alternative(weights: list, grads: list) -> list[tuple[str, float]]:
    """The same Adam formulas as one fused kernel per weight (cupy.fuse), for comparison."""
    import cupy

    @cupy.fuse()
    def adam(g, m, v, w, alpha, c1, c2, eps):  # noqa: ANN001, ANN202
        m2 = m + (g - m) * c1
        v2 = v + (g * g - v) * c2
        return m2, v2, w - (m2 * alpha) / (cupy.sqrt(v2) + eps)

    state = [(cupy.zeros_like(w.value), cupy.zeros_like(w.value), w.value.copy())
             for w in weights]
    f = np.float32

    def step() -> None:
        for g, (m, v, w) in zip(grads, state, strict=True):
            m2, v2, w2 = adam(g, m, v, w, f(1e-4), f(0.1), f(0.001), f(1e-7))
            m[...], v[...], w[...] = m2, v2, w2

    return [("Adam update, cupy.fuse alternative", timed(step))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", default="channels_last")
    args = parser.parse_args(argv)
    print(f"backend {backend.backend()}, format {args.format}, batch {BATCH}")
    for name, ms in profile(args.format):
        print(f"{name:40s} {ms:9.3f} ms")


if __name__ == "__main__":
    main()

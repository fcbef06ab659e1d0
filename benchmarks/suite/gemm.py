"""The machine's float32 GEMM rate, FLOPs per training sample, the CNN's GEMM-only bound.

    python -m benchmarks.suite.gemm [--models cnn,autoencoder] [--repeats 5]

prints one JSON line: ``gemm_flops_per_s`` (best of ``repeats`` 2048^3 ``np.matmul``, i.e. what
this NumPy's BLAS reaches on a large square product), ``flops_per_sample`` per GEMM-bound
model, ``gemm_bound_s`` per CNN (the step's matrix products alone, see
``benchmarks.bench_cnn.gemm_seconds``) and the BLAS in use. It runs as a subprocess so that
it can be measured in each OpenBLAS environment the workers see.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

Product = tuple[int, int, int]


def train_flops(products: Sequence[Product]) -> float:
    """FLOPs of the matrix products of one training step.

    ``products`` holds ``(M, K, F)`` per Conv2D/Dense layer in order (``M`` rows: batch x
    output positions, ``K`` inputs, ``F`` outputs), as ``bench_cnn.step_products`` gives them.
    Each layer does its forward product and its weight gradient (2 M K F FLOPs each); all but
    the first also pass the gradient to their input (a third product): the first layer's input
    is data, and neither Keras nor minikeras computes a gradient for it. So about 3x the
    forward FLOPs, a little less.
    """
    return sum((2 if i == 0 else 3) * 2.0 * m * k * f for i, (m, k, f) in enumerate(products))


def gemm_fraction(flops_per_sample: float, samples_per_s: float, rate: float) -> float:
    """Share of the machine's GEMM rate that a training throughput amounts to."""
    return flops_per_sample * samples_per_s / rate


def bound_fraction(bound_s: float, batch: int, samples_per_s: float) -> float:
    """GEMM-only bound / step time: 1.0 would mean the step is nothing but its products."""
    return bound_s * samples_per_s / batch


def model_products(key: str, batch: int) -> list[Product]:
    """The products of suite model ``key`` built in minikeras (shapes only, no training)."""
    import minikeras
    from benchmarks.bench_cnn import step_products
    from benchmarks.suite.models import MODELS, build

    return step_products(build(MODELS[key], minikeras), batch)


def measure(models: Sequence[str], repeats: int) -> dict[str, Any]:
    import minikeras
    from benchmarks.bench_cnn import build_cnn, gemm_rate, gemm_seconds
    from benchmarks.suite.worker import threadpools

    out: dict[str, Any] = {"flops_per_sample": {}, "gemm_bound_s": {}}
    for key in models:
        out["flops_per_sample"][key] = train_flops(model_products(key, 1))
        if key.startswith("cnn"):
            fmt = "channels_first" if key.endswith("channels_first") else "channels_last"
            out["gemm_bound_s"][key] = gemm_seconds(build_cnn(minikeras, fmt), repeats)
    out["gemm_flops_per_s"] = gemm_rate(repeats=repeats)
    out["threadpools"] = threadpools()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GEMM rate and bounds (see module docstring)")
    parser.add_argument("--models", default="cnn,autoencoder")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    print(json.dumps(measure(models, args.repeats)))


if __name__ == "__main__":
    main()

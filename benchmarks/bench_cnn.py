"""Training speed of the tutorial CNN, minikeras against Keras, in the same run.

    python -m benchmarks.bench_cnn [--steps 10] [--rounds 5] [--formats channels_last,...]
                                   [--out benchmarks/results/cnn_cpu.md] [--no-keras]

Model (tutorial 3): Conv2D(32,5,same,relu) -> MaxPooling2D(2,2,same) -> Conv2D(64,5,same,
relu) -> MaxPooling2D(2,2,same) -> Flatten -> Dense(1024,relu) -> Dense(10,softmax);
categorical crossentropy, Adam(1e-4), batch 64, in both data formats (input (28,28,1) and
(1,28,28)). Both frameworks start from the same (Keras') weights and see the same batches.

Timing: a few warm-up steps (Keras traces its train function on the first call), then
``rounds`` rounds of ``steps`` ``train_on_batch`` calls, Keras and minikeras rounds
*interleaved*, so a burst of load from other processes hits both sides alike. Samples/s
come from the median round (best round in brackets).

Efficiency: the FLOPs of the matrix products one training step needs (forward, weight
gradient, input gradient; none for the first layer's input) divided by the step time, as a
fraction of this machine's float32 GEMM rate (best of several 2048^3 ``np.matmul``). A
per-layer profile of minikeras' forward and backward shows where the rest of the time goes.

NumPy's BLAS (OpenBLAS) runs each product on one thread per core. When other processes use
the cores too, those threads wait on each other and a product can take 10-100x longer
(measured here: the first layer's weight gradient, 1 ms quiet, 600 ms once under load), so
minikeras is also timed in a child process with ``OPENBLAS_NUM_THREADS=1`` (skip it with
``--no-single-thread``), and the load average at the start is recorded with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 64
RESULTS = Path(__file__).resolve().parent / "results" / "cnn_cpu.md"
FORMATS = ("channels_last", "channels_first")


def build_cnn(fw: Any, fmt: str) -> Any:
    """The tutorial CNN in ``fw``, compiled without metrics (``train_on_batch`` returns the
    loss alone), from its one definition in ``parity_tests/models.py``."""
    from parity_tests.models import build_compiled

    return build_compiled(f"cnn_{fmt}", fw, metrics=False)


def batches(fmt: str, count: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """MNIST-shaped data: the arithmetic (and so the time) does not depend on the values."""
    rng = np.random.default_rng(0)
    shape = (BATCH, 28, 28, 1) if fmt == "channels_last" else (BATCH, 1, 28, 28)
    return [(rng.random(shape, dtype=np.float32),
             np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]) for _ in range(count)]


def step_products(model: Any, batch: int = BATCH) -> list[tuple[int, int, int]]:
    """(M, K, F) of each Conv2D/Dense layer of a minikeras model, as its GEMMs see it."""
    shapes = []
    for layer in model.layers:
        name = type(layer).__name__
        if name not in ("Conv2D", "Dense"):
            continue
        out = layer.output_shape
        kernel = layer.kernel.shape
        if name == "Conv2D":
            spatial = out[2] * out[3] if layer.data_format == "channels_first" else out[1] * out[2]
            shapes.append((batch * spatial, int(np.prod(kernel[:3])), kernel[-1]))
        else:
            shapes.append((batch, kernel[0], kernel[-1]))
    return shapes


def step_flops(model: Any, batch: int = BATCH) -> float:
    """FLOPs of the GEMMs in one training step: forward, dW and dX (none for layer 0's dX)."""
    return sum((2 if i == 0 else 3) * 2.0 * m * k * f
               for i, (m, k, f) in enumerate(step_products(model, batch)))


def gemm_seconds(model: Any, repeats: int = 5) -> float:
    """Best time of just the step's products, on random matrices of the same shapes."""
    rng = np.random.default_rng(0)
    products = []
    for i, (m, k, f) in enumerate(step_products(model)):
        cols, w, dz = (rng.random(s, dtype=np.float32) for s in ((m, k), (k, f), (m, f)))
        products += [(cols, w), (cols.T, dz)] + ([(dz, w.T)] if i else [])
    best = 1e9
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a, b in products:
            a @ b
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_rate(n: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * n ** 3 / best


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def timed_round(model: Any, data: list, steps: int) -> float:
    t0 = time.perf_counter()
    for i in range(steps):
        x, y = data[i % len(data)]
        model.train_on_batch(x, y)
    return steps * BATCH / (time.perf_counter() - t0)


def profile_layers(model: Any, data: list, repeats: int = 5) -> list[tuple[str, float, float]]:
    """Best-of-``repeats`` forward and backward milliseconds per minikeras layer."""
    x, _ = data[0]
    best: dict[str, list[float]] = {layer.name: [1e9, 1e9] for layer in model.layers}
    for _ in range(repeats):
        h = x
        for layer in model.layers:
            t0 = time.perf_counter()
            h = layer.forward(h, training=True)
            best[layer.name][0] = min(best[layer.name][0], time.perf_counter() - t0)
        g = np.full(h.shape, 0.01, np.float32)
        for i, layer in reversed(list(enumerate(model.layers))):
            layer.input_grad_needed = i > 0
            t0 = time.perf_counter()
            g = layer.backward_from_logits(g) if i == len(model.layers) - 1 else layer.backward(g)
            best[layer.name][1] = min(best[layer.name][1], time.perf_counter() - t0)
            layer.input_grad_needed = True
            layer.zero_grads()
    return [(f"{n}", 1e3 * f, 1e3 * b) for n, (f, b) in best.items()]


def run(fmt: str, steps: int, rounds: int, with_keras: bool) -> dict[str, Any]:
    import minikeras

    data = batches(fmt)
    mini = build_cnn(minikeras, fmt)
    keras_model = None
    if with_keras:
        import keras

        keras.config.set_floatx("float32")
        keras.config.set_image_data_format("channels_last")
        keras.utils.set_random_seed(1234)
        keras_model = build_cnn(keras, fmt)
        mini.set_weights(keras_model.get_weights())
    for x, y in data[:3]:
        mini.train_on_batch(x, y)
        if keras_model is not None:
            keras_model.train_on_batch(x, y)
    k_rates, m_rates = [], []
    for _ in range(rounds):
        if keras_model is not None:
            k_rates.append(timed_round(keras_model, data, steps))
        m_rates.append(timed_round(mini, data, steps))
    return {"mini": m_rates, "keras": k_rates, "flops": step_flops(mini),
            "gemm_s": gemm_seconds(mini), "profile": profile_layers(mini, data)}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run_child_single_thread(args: Any) -> dict[str, dict] | None:
    """minikeras alone, timed again in a fresh process whose OpenBLAS uses one thread."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "benchmarks.bench_cnn", "--child", "--steps", str(args.steps),
           "--rounds", str(args.rounds), "--formats", args.formats]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict], single: dict[str, dict] | None, rate: float, args: Any,
           load: str) -> str:
    lines = [
        "# Tutorial CNN: training speed, minikeras vs Keras (CPU)", "",
        f"`python -m benchmarks.bench_cnn --steps {args.steps} --rounds {args.rounds}`: "
        "`train_on_batch` samples/s (batch 64, Adam), median round (best round in brackets); "
        "Keras and minikeras rounds interleaved in one process, from the same weights.", "",
        f"Machine: {platform.processor() or platform.machine()}, {_cores()} usable cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, OpenBLAS threads "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default (one per core)')}; load average at "
        f"start {load}. float32 GEMM rate (2048^3 np.matmul, best of 5): "
        f"{rate / 1e9:.0f} GFLOP/s.",
        "",
        "| data format | Keras 3 (TF CPU) | minikeras | ratio | minikeras, 1 BLAS thread | "
        "ratio | GEMM GFLOP/step | minikeras GFLOP/s (best) | fraction of GEMM rate | "
        "products alone, ms (1 thread) | share of the best step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fmt, r in results.items():
        m = statistics.median(r["mini"])
        k = statistics.median(r["keras"]) if r["keras"] else None
        one = statistics.median(single[fmt]["mini"]) if single else None
        best = max([m, *(single[fmt]["mini"] if single else []), *r["mini"]])
        achieved = r["flops"] * best / BATCH
        cells = [f"{k:.0f} ({max(r['keras']):.0f})" if k else "-",
                 f"{m:.0f} ({max(r['mini']):.0f})", f"{m / k:.2f}x" if k else "-",
                 f"{one:.0f} ({max(single[fmt]['mini']):.0f})" if one else "-",
                 f"{one / k:.2f}x" if one and k else "-", f"{r['flops'] / 1e9:.2f}",
                 f"{achieved / 1e9:.0f}", f"{achieved / rate:.0%}"]
        gemm_ms = [r["gemm_s"] * 1e3] + ([single[fmt]["gemm_s"] * 1e3] if single else [])
        cells += [" (".join(f"{g:.0f}" for g in gemm_ms) + (")" if single else ""),
                  f"{min(gemm_ms) / 1e3 * best / BATCH:.0%}"]
        lines.append(f"| {fmt} | " + " | ".join(cells) + " |")
    lines += ["", "ratio = minikeras samples/s / Keras samples/s (above 1: minikeras is faster). "
              "GFLOP/s from minikeras' best round in either setting.",
              "", "## Where minikeras spends a step (best of 5, ms)", ""]
    if single:
        lines += ["Measured in the one-BLAS-thread process (steadier under load).", ""]
        results = {f: {**r, "profile": single[f]["profile"]} for f, r in results.items()}
    fmts = list(results)
    lines.append("| layer | " + " | ".join(f"{f} fwd | {f} bwd" for f in fmts) + " |")
    lines.append("|---|" + "---:|---:|" * len(fmts))
    profiles = [results[f]["profile"] for f in fmts]
    for rows in zip(*profiles, strict=True):
        cells = " | ".join(f"{fw:.2f} | {bw:.2f}" for _, fw, bw in rows)
        lines.append(f"| {rows[0][0]} | {cells} |")
    totals = " | ".join(f"{sum(r[1] for r in p):.1f} | {sum(r[2] for r in p):.1f}"
                        for p in profiles)
    lines.append(f"| total | {totals} |")
    lines += [
        "", "## Reading the numbers", "",
        "* The layer totals leave out the loss and the Adam update (3.3M weights, ~12 NumPy "
        "passes over each), which are the rest of a step.",
        "* The second convolution is most of the step: three products of 1.28 GFLOP each "
        "(forward, kernel gradient, input gradient), plus the im2col copy (40 MB) and the "
        "col2im additions. On one BLAS thread the products alone take about as long as "
        "Keras' whole step; the rest of minikeras' step (im2col, col2im, pooling, relu, loss, "
        "Adam) is NumPy on one core, while Keras (oneDNN) spreads every op over both cores.",
        "* Keras' TensorFlow thread pool copes with a busy machine far better than OpenBLAS' "
        "spinning threads: compare the columns at a high load average, and rerun on an idle "
        "machine for the real ratio.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--no-single-thread", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child = {fmt: run(fmt, args.steps, args.rounds, False) for fmt in args.formats.split(",")}
        print(json.dumps({f: {"mini": r["mini"], "profile": r["profile"], "gemm_s": r["gemm_s"]}
                          for f, r in child.items()}))
        return
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rate = gemm_rate()
    results = {}
    for fmt in args.formats.split(","):
        results[fmt] = run(fmt, args.steps, args.rounds, not args.no_keras)
        r = results[fmt]
        msg = f"{fmt}: minikeras {statistics.median(r['mini']):.0f} samples/s"
        if r["keras"]:
            msg += f", Keras {statistics.median(r['keras']):.0f} samples/s"
        print(msg, flush=True)
    single = None if args.no_single_thread else run_child_single_thread(args)
    if single:
        for fmt, r in single.items():
            print(f"{fmt}: minikeras, 1 BLAS thread, {statistics.median(r['mini']):.0f} "
                  "samples/s", flush=True)
    rate = max(rate, gemm_rate())  # measured before and after: keep the better (less loaded)
    text = report(results, single, rate, args, load)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

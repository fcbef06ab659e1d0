"""Training speed of the two recurrent tutorial models, minikeras against Keras, same run.

    python -m benchmarks.bench_rnn [--steps 30] [--rounds 5] [--out benchmarks/results/rnn_cpu.md]

Models (the tutorials' shapes):

* (a) SimpleRNN(50) over the 28 rows of an MNIST image -> Dense(10, softmax);
  categorical crossentropy, Adam(0.001), batch 50;
* (b) LSTM(20, return_sequences=True, stateful=True) on batches of shape (50, 20, 1) ->
  TimeDistributed(Dense(1)); mse, Adam(0.006).

Each side starts from the same (Keras') weights and runs ``train_on_batch`` on the same
batches: a few warm-up steps (Keras traces its train function on the first call), then
``rounds`` timed rounds of ``steps`` steps. The table gives samples per second from the median
round (and the best round). The values in the inputs do not change the arithmetic, so the
batches are MNIST-shaped and sine-shaped random data.

NumPy's BLAS (OpenBLAS) starts one thread per core for larger products, which stalls when
the machine is busy, so minikeras is also timed in a child process with
``OPENBLAS_NUM_THREADS=1`` (``--no-single-thread`` skips it). The load average at the start is
recorded with the table.
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

BATCH = 50
RESULTS = Path(__file__).resolve().parent / "results" / "rnn_cpu.md"


# --------------------------------------------------------------------------- models and data
def build_rnn(fw: Any) -> Any:
    model = fw.Sequential([fw.Input((28, 28)), fw.layers.SimpleRNN(50),
                           fw.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=fw.optimizers.Adam(learning_rate=0.001),
                  loss="categorical_crossentropy")
    return model


def build_lstm(fw: Any) -> Any:
    model = fw.Sequential([fw.Input(batch_shape=(BATCH, 20, 1)),
                           fw.layers.LSTM(20, return_sequences=True, stateful=True),
                           fw.layers.TimeDistributed(fw.layers.Dense(1))])
    model.compile(optimizer=fw.optimizers.Adam(learning_rate=0.006), loss="mse")
    return model


MODELS = {"rnn": ("(a) SimpleRNN(50) MNIST rows, batch 50", build_rnn),
          "lstm": ("(b) stateful LSTM(20) + TimeDistributed(Dense(1)), batch 50x20x1",
                   build_lstm)}


def batches(key: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        if key == "rnn":
            x = rng.random((BATCH, 28, 28), dtype=np.float32)
            y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]
        else:   # consecutive sine windows: batch i continues the streams of batch i - 1
            t = (rng.uniform(0, 6.3, (BATCH, 1)) + 0.1 * (np.arange(20) + 20 * i))[..., None]
            x, y = np.sin(t).astype(np.float32), np.cos(t).astype(np.float32)
        out.append((x, y))
    return out


# --------------------------------------------------------------------------- timing
def time_training(model: Any, data: list, steps: int, rounds: int, warmup: int = 5) -> dict:
    for x, y in data[:warmup]:
        model.train_on_batch(x, y)
    per_round = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i in range(steps):
            x, y = data[i % len(data)]
            model.train_on_batch(x, y)
        per_round.append(steps * BATCH / (time.perf_counter() - t0))
    return {"median": statistics.median(per_round), "best": max(per_round)}


def import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
    return keras


def run_minikeras(weights: dict[str, list], steps: int, rounds: int) -> dict[str, dict]:
    import minikeras

    out = {}
    for key, (_, build) in MODELS.items():
        model = build(minikeras)
        if weights.get(key):
            model.set_weights([np.asarray(w, dtype=np.float32) for w in weights[key]])
        out[key] = time_training(model, batches(key, 20), steps, rounds)
    return out


def run_child_single_thread(weights: dict[str, list], steps: int, rounds: int) -> dict | None:
    """minikeras timed again in a fresh process whose OpenBLAS uses one thread."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    payload = json.dumps({"weights": {k: [np.asarray(w).tolist() for w in v]
                                      for k, v in weights.items()},
                          "steps": steps, "rounds": rounds})
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_rnn", "--child"],
                          input=payload, capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report
def report(keras_r: dict, mini_r: dict, single_r: dict | None, args: Any, load: str) -> str:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default (one per core)")
    lines = [
        "# Recurrent tutorial models: training speed, minikeras vs Keras (CPU)",
        "",
        f"`python -m benchmarks.bench_rnn --steps {args.steps} --rounds {args.rounds}`: "
        "`train_on_batch` samples/s, median round (best round in brackets), both frameworks "
        "in the same run from the same initial weights.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}; load average at start "
        f"{load}. In-process OpenBLAS threads: {threads}.",
        "",
        "| model | Keras 3 (TF CPU) | minikeras | ratio | minikeras, 1 BLAS thread | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, (title, _) in MODELS.items():
        k, m = keras_r[key], mini_r[key]
        row = (f"| {title} | {k['median']:.0f} ({k['best']:.0f}) | {m['median']:.0f} "
               f"({m['best']:.0f}) | {m['median'] / k['median']:.2f}x |")
        if single_r:
            s = single_r[key]
            row += f" {s['median']:.0f} ({s['best']:.0f}) | {s['median'] / k['median']:.2f}x |"
        else:
            row += " - | - |"
        lines.append(row)
    lines += [
        "", "ratio = minikeras samples/s / Keras samples/s (above 1: minikeras is faster).",
        "",
        "Why two minikeras columns: OpenBLAS splits a large enough product over all cores. "
        "On a machine busy with other processes those threads wait on each other and one "
        "such product can take milliseconds instead of ~0.1 ms. The recurrent layers "
        "therefore write their big products (x W for all steps, the weight gradients) as "
        "batched per-step products, which stay on one thread, so the default column should "
        "stay close to the one-thread column whatever the load; a large gap would point at a "
        "product that still splits (the Dense layers or the optimizer).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-single-thread", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        job = json.loads(sys.stdin.read())
        print(json.dumps(run_minikeras(job["weights"], job["steps"], job["rounds"])))
        return
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    keras = import_keras()
    keras_r, weights = {}, {}
    for key, (title, build) in MODELS.items():
        keras.utils.set_random_seed(1234)
        model = build(keras)
        weights[key] = [w.copy() for w in model.get_weights()]
        keras_r[key] = time_training(model, batches(key, 20), args.steps, args.rounds)
        print(f"keras     {title}: {keras_r[key]['median']:.0f} samples/s", flush=True)
    mini_r = run_minikeras(weights, args.steps, args.rounds)
    for key, (title, _) in MODELS.items():
        print(f"minikeras {title}: {mini_r[key]['median']:.0f} samples/s "
              f"({mini_r[key]['median'] / keras_r[key]['median']:.2f}x Keras)", flush=True)
    single_r = None if args.no_single_thread else run_child_single_thread(
        weights, args.steps, args.rounds)
    if single_r:
        for key, (title, _) in MODELS.items():
            print(f"minikeras, 1 BLAS thread, {title}: {single_r[key]['median']:.0f} samples/s",
                  flush=True)
    text = report(keras_r, mini_r, single_r, args, load)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

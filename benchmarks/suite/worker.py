"""One framework, one model, in a process of its own: ``python -m benchmarks.suite.worker``.

    python -m benchmarks.suite.worker --framework keras --model cnn [--quick] [--t0 EPOCH_S]
                                      [--min-phase-s 0.25] [--max-phase-s 2]
                                      [--save-weights F.npz | --load-weights F.npz]

It imports the framework, builds the model, runs one training step and writes a JSON line
``{"event": "ready", "startup_s": ...}`` (``startup_s``: from ``--t0``, the wall-clock time the
parent took just before spawning it, to the end of that first step). Then it reads commands,
one JSON line each, from stdin and answers each with one JSON line:

* ``{"cmd": "warmup"}``: every call once, and fit/predict sizes cut to about
  ``--max-phase-s`` at this framework's speed (see ``Runner.warmup``); answers the sizes;
* ``{"cmd": "round"}``: ``train_on_batch`` steps (stopping early after ``--max-phase-s``), one
  ``fit`` epoch (verbose=0, shuffle=False), one ``predict``, each repeated until it has run
  ``--min-phase-s``; answers the three samples/s (``--framework gemm``: answers NumPy's GEMM
  rate and the CNN's GEMM-only bound);
* ``{"cmd": "exit"}``: answers the peak RSS (``ru_maxrss``) and exits.

A worker lives for all the rounds of its model so that a framework is imported once, while
the parent interleaves rounds of the frameworks (see ``benchmarks/__main__.py``). The JSON
lines go to the original stdout; fd 1 is pointed at stderr so that anything a library prints
cannot break the protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.suite.models import MODELS, Arrays, arrays, build, reset_states


def import_framework(name: str) -> Any:
    if name in ("minikeras", "gemm"):
        import minikeras

        return minikeras
    if name == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        return keras
    if name == "torch":
        import torch

        return torch
    raise ValueError(f"unknown framework {name!r}")


class Runner:
    """The three timed calls on one model of one framework."""

    def __init__(self, framework: str, fw: Any, key: str, data: Arrays) -> None:
        self.framework, self.data, self.cursor = framework, data, 0
        self.fit_rows, self.predict_rows = len(data.x_fit), len(data.x_predict)
        if framework == "torch":
            from benchmarks.suite import torch_models

            fw.manual_seed(1234)
            self.model = torch_models.build(fw, key)
        else:
            self.model = build(MODELS[key], fw)

    def reset(self) -> None:
        if self.data.stateful:
            if self.framework == "torch":
                self.model.reset_states()
            else:
                reset_states(self.model)

    def train_step(self) -> None:
        # Consecutive batches, wrapping; a stateful model starts its streams again on a wrap.
        if self.cursor % self.data.n_train_batches == 0:
            self.reset()
        self.model.train_on_batch(*self.data.train_batch(self.cursor))
        self.cursor += 1

    def train(self, steps: int, max_s: float) -> int:
        """Up to ``steps`` steps, fewer if ``max_s`` runs out; returns the samples done."""
        t0 = time.perf_counter()
        for i in range(steps):
            self.train_step()
            if time.perf_counter() - t0 > max_s:
                return (i + 1) * self.data.batch
        return steps * self.data.batch

    def fit(self, rows: int | None = None) -> int:
        d, n = self.data, rows or self.fit_rows
        self.reset()
        if self.framework == "torch":
            self.model.fit(d.x_fit[:n], d.y_fit[:n], batch_size=d.batch)
        else:
            self.model.fit(d.x_fit[:n], d.y_fit[:n], batch_size=d.batch, epochs=1, verbose=0,
                           shuffle=False)
        return n

    def predict(self, rows: int | None = None) -> int:
        d, n = self.data, rows or self.predict_rows
        self.reset()
        if self.framework == "torch":
            self.model.predict(d.x_predict[:n], batch_size=d.predict_batch)
        else:
            self.model.predict(d.x_predict[:n], batch_size=d.predict_batch, verbose=0)
        return n

    def warmup(self, steps: int, max_s: float) -> dict[str, int]:
        """Every call once (Keras traces each of its functions on first use), and the sizes of
        fit and predict cut to what this framework does in about ``max_s`` at its training
        rate: on a machine shared with other work a framework can slow down a hundredfold
        (threads waiting on each other), and a full run must still end in minutes."""
        d = self.data
        self.cursor = 0
        t0 = time.perf_counter()
        per_s = self.train(steps, max_s) / (time.perf_counter() - t0)

        def batches(rows: int, batch: int, speed: float) -> int:
            return batch * max(2, min(rows // batch, int(max_s * per_s * speed / batch)))

        self.fit_rows = batches(len(d.x_fit), d.batch, 1.0)
        # predict is the forward pass alone: about three times the training rate; say two
        self.predict_rows = batches(len(d.x_predict), d.predict_batch, 2.0)
        self.fit(2 * d.batch)
        self.predict(2 * d.predict_batch)
        return {"train_steps": steps, "fit_batches": self.fit_rows // d.batch,
                "predict_batches": self.predict_rows // d.predict_batch}

    def round(self, steps: int, min_s: float, max_s: float) -> dict[str, float]:
        # Each round starts its streams afresh: a stateful model's state after predict holds
        # no gradient history (PyTorch refuses to train from inference-mode tensors).
        self.cursor = 0
        return {"train_samples_per_s": rate(lambda: self.train(steps, max_s), min_s),
                "fit_samples_per_s": rate(self.fit, min_s),
                "predict_samples_per_s": rate(self.predict, min_s)}


def rate(fn: Callable[[], int], min_s: float) -> float:
    """Samples/s of ``fn`` (which returns the samples it did), called again until ``min_s``
    has passed: a framework done in milliseconds would otherwise be timed on clock jitter."""
    done, t0 = 0, time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return done / elapsed


class GemmProbe:
    """The ``gemm`` lane: NumPy's float32 GEMM rate and, for a CNN, its GEMM-only bound,
    measured once per round between the frameworks' rounds, so that each framework's share
    of them is computed against what the machine could do at that moment, not at another."""

    def __init__(self, key: str) -> None:
        import minikeras
        from benchmarks.bench_cnn import build_cnn

        fmt = "channels_first" if key.endswith("channels_first") else "channels_last"
        self.cnn = build_cnn(minikeras, fmt) if key.startswith("cnn") else None

    def train_step(self) -> None:
        self.round(0, 0.0, 0.0)

    def warmup(self, steps: int, max_s: float) -> dict[str, int]:
        return {}

    def round(self, steps: int, min_s: float, max_s: float) -> dict[str, float]:
        from benchmarks.bench_cnn import gemm_rate, gemm_seconds

        out = {"gemm_flops_per_s": gemm_rate(repeats=3)}
        if self.cnn is not None:  # ~50 ms a try: best of 5 rides out a short burst of load
            out["gemm_bound_s"] = gemm_seconds(self.cnn, repeats=5)
        return out


def share_weights(runner: Runner, save: str | None, load: str | None) -> bool:
    """Keras starts from minikeras' initial weights (parity tests check the mapping), when it
    can: timing does not depend on it, so a failure is reported, not raised."""
    try:
        if save:
            np.savez(save, *[np.asarray(w) for w in runner.model.get_weights()])
        if load:
            with np.load(load) as f:
                runner.model.set_weights([f[f"arr_{i}"] for i in range(len(f.files))])
            return True
    except Exception as exc:  # noqa: BLE001 - any failure only means "own weights"
        print(f"weights not shared: {exc!r}", file=sys.stderr)
    return False


def peak_rss_mb() -> float:
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def current_rss_mb() -> float:
    """The resident set now (Linux: /proc/self/statm), or the peak so far elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return peak_rss_mb()


def threadpools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("user_api", "internal_api", "version", "architecture", "num_threads", "prefix")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def compute_library(framework: str, fw: Any) -> str:
    """What does the arithmetic, beyond what threadpoolctl sees (PyTorch links MKL
    statically, TensorFlow has its own Eigen/oneDNN pools)."""
    if framework in ("minikeras", "gemm"):
        return f"NumPy {np.__version__} (its BLAS: see threadpools)"
    if framework == "keras":
        import tensorflow as tf

        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        return (f"TensorFlow {tf.__version__} (Eigen/oneDNN), intra-op threads "
                f"{intra or 'default'}, inter-op threads {inter or 'default'}")
    b = fw.backends
    return (f"PyTorch {fw.__version__}, {fw.get_num_threads()} threads, MKL "
            f"{'yes' if b.mkl.is_available() else 'no'}, oneDNN "
            f"{'yes' if b.mkldnn.is_available() else 'no'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one benchmark worker (see module docstring)")
    parser.add_argument("--framework", required=True)
    parser.add_argument("--model", required=True, choices=list(MODELS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--t0", type=float, default=None, help="epoch seconds at spawn")
    parser.add_argument("--min-phase-s", type=float, default=0.25)
    parser.add_argument("--max-phase-s", type=float, default=2.0)
    parser.add_argument("--save-weights")
    parser.add_argument("--load-weights")
    args = parser.parse_args(argv)
    t_spawn = args.t0 if args.t0 is not None else time.time()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def send(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    t_import = time.perf_counter()
    fw = import_framework("minikeras" if args.framework == "gemm" else args.framework)
    import_s = time.perf_counter() - t_import
    baseline_rss = current_rss_mb()  # interpreter + framework, before data and model
    bench = MODELS[args.model]
    runner: Runner | GemmProbe
    if args.framework == "gemm":
        runner, same = GemmProbe(args.model), False
    else:
        runner = Runner(args.framework, fw, args.model, arrays(bench, args.quick))
        same = share_weights(runner, args.save_weights, args.load_weights)
    runner.train_step()
    startup_s = time.time() - t_spawn
    extra: dict[str, Any] = {}
    if args.framework == "minikeras":  # the model's analytic working set (built, shapes known)
        from benchmarks.suite.memory import working_set

        extra["working_set"] = working_set(runner.model, runner.data.batch)
    send({"event": "ready", "startup_s": startup_s, "import_s": import_s,
          "baseline_rss_mb": baseline_rss,
          "same_initial_weights": same, "threadpools": threadpools(),
          "compute": compute_library(args.framework, fw), "pid": os.getpid(), **extra})
    steps = bench.sizes(args.quick)[0]
    for line in sys.stdin:
        cmd = json.loads(line)["cmd"]
        if cmd == "warmup":
            send({"event": "warmup", **runner.warmup(steps, args.max_phase_s)})
        elif cmd == "round":
            send({"event": "round", **runner.round(steps, args.min_phase_s, args.max_phase_s)})
        elif cmd == "exit":
            send({"event": "exit", "peak_rss_mb": peak_rss_mb()})
            return
        else:
            send({"event": "error", "message": f"unknown command {cmd!r}"})


if __name__ == "__main__":
    main()

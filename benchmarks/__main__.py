"""How fast are the six tutorial models on minikeras, next to Keras and PyTorch, on this CPU?

    python -m benchmarks                          # full run (~3-6 min on 2 cores)
    python -m benchmarks --quick                  # short run: checks that everything works
    python -m benchmarks --models cnn,mlp --frameworks minikeras,keras --rounds 7
    python -m benchmarks --json out.json --out out.md
    python -m benchmarks --scaling [--quick] [--sweeps cnn_batch,lstm_seq] [--out FOLDER]

A full run writes ``benchmarks/results/suite/cpu.md`` and ``cpu.json`` unless ``--out`` /
``--json`` say otherwise; ``--quick`` writes only what you ask for. Install what it compares
with ``pip install -e ".[parity,bench]"`` (Keras + TensorFlow, PyTorch CPU, threadpoolctl);
a framework that is not installed is left out, and said so.

``--scaling`` runs instead the growth sweeps of ``benchmarks/suite/scaling.py`` (step time vs
batch size, sequence length and image size; its docstring says what and how) and writes
``benchmarks/results/scaling/`` (table, JSON, one PNG per sweep).

What runs
---------
Models (``--models``, default all): ``regression``, ``mlp``, ``cnn`` (channels_last),
``cnn_channels_first``, ``rnn``, ``lstm`` (stateful), ``autoencoder``, each exactly as in its
tutorial (the definitions of ``parity_tests/models.py``: same layers, optimizer, loss,
metrics, batch size), and two models learners grow into (issue 18, defined in
``benchmarks/suite/growth.py``): ``convnet`` (keras-io simple MNIST convnet, batch 128) and
``hrnn`` (keras-io hierarchical RNN, TimeDistributed(LSTM(128)) then LSTM(128), batch 32); on
real MNIST images (the test split shipped in ``minikeras/datasets/data``) where the model
reads images. Frameworks (``--frameworks``): minikeras, Keras 3 on TensorFlow (CPU, default
threads; starts from minikeras' initial weights) and PyTorch on CPU (an equivalent network,
see ``benchmarks/suite/torch_models.py``).

Each (model, framework) pair gets its own worker process (``benchmarks/suite/worker.py``),
so that no framework's imports, thread pools or memory touch another's figures. A worker
lives for all the rounds of its model, answering "run a round" over stdin/stdout: the
framework is imported once, yet the rounds of the frameworks interleave (A B C, B C A, C A B,
...), so a burst of load from elsewhere on the machine hits every framework about alike,
and the two sides of a per-round ratio ran seconds apart. Workers are started one after the
other and a model's workers quit before the next model's start: only one computes at a time.

A round is: ``train_on_batch`` on consecutive batches, then one ``fit`` epoch over a fixed
array (``verbose=0, shuffle=False``), then ``predict`` over a fixed array (at the tutorial's
evaluation batch size). Each of the three is repeated until it has run 0.25 s, so that a
framework that is done in milliseconds is not timed on clock jitter. One warm-up round, not
recorded, comes first: it makes every call once (Keras traces its ``tf.function`` s on first
use) and cuts the work of a framework too slow to do it in about 2 s: ``train_on_batch``
stops after 2 s, ``fit`` and ``predict`` get as many batches as its training rate allows
in 2 s (at least 2). On a quiet machine nothing is cut; on one shared with other work a
framework whose threads wait on each other can slow down a hundredfold, and the run must
still end. The report gives the work per call of each framework. ``--quick`` does a quarter
of the work per call, repeats each for 0.05 s, cuts at 0.5 s, and runs 2 rounds.

For the CNNs and the autoencoder one more process takes part in the rotation: a NumPy
worker (one per OpenBLAS environment, see below) that measures the float32 GEMM rate and the CNN's
GEMM-only bound in every round, so that each framework's share of them is computed against
what the machine could do in the same few seconds, not at a quieter or busier moment.

The figures
-----------
* **train samples/s** (``train_on_batch``), **fit samples/s**, **predict samples/s**: the
  median over the rounds; brackets give the slowest and the fastest round. ``fit`` adds
  each framework's per-epoch overhead (data adapter, callbacks) to its steps.
* **peak RSS, MB**: ``ru_maxrss`` of the worker at its end, i.e. the interpreter, the
  framework, the data and the model together. The memory table gives it again above the
  worker's start-up baseline (RSS right after importing the framework), next to the model's
  analytic working set (``benchmarks/suite/memory.py``: weights and gradients, optimizer
  state, activations, im2col patch matrices).
* **start-up to first step, s**: from just before the process is spawned to the end of its
  first training step: interpreter, imports, data, building the model, the first step
  (Keras' includes tracing its train function). What a user waits before anything happens.
* **ratio minikeras / Keras** (and / PyTorch): computed round by round from the two rounds
  that ran next to each other, then the median and the range over the rounds. Above 1 means
  minikeras is faster. The range says how far to trust it: when it spans 1, the run cannot
  tell the two apart. The training targets read the median train ratio.
* **fraction of the GEMM rate** (CNN, autoencoder): the FLOPs of one training sample's matrix
  products (forward, weight gradient and, except for the first layer, input gradient: about
  3x the forward FLOPs) times train samples/s, over the float32 rate this machine's NumPy
  reaches on one large product (best of three 2048^3 ``matmul`` in the same round); median
  and range over the rounds.
* **GEMM-only bound** (CNN): the time of the step's eight large matrix products, at the
  step's shapes, run alone in NumPy (``benchmarks.bench_cnn.gemm_seconds``, best of five in
  the same round), divided by the framework's step time (batch / train samples/s). 100% would
  be a step that is nothing but those products; the target for minikeras is 85%. Keras and
  PyTorch can exceed 100%: their convolutions are not NumPy products (oneDNN, direct or
  Winograd kernels).
* **import time**: ``import minikeras`` / ``import keras`` / ``import torch`` in fresh
  interpreters (median of several), without the interpreter's own start-up.

Targets (issue 9), in the report's first table with "met?": minikeras' median train ratio
over Keras >= 5x (regression), 3x (MLP, and above PyTorch), 2x (SimpleRNN), 2x (LSTM, and
above PyTorch), 1.2x (autoencoder); the CNN's step at >= 85% of its GEMM-only bound; peak RSS
under a quarter of Keras' for every model; ``import minikeras`` under 0.2 s. Issue 18 adds:
convnet >= 0.7x Keras training and >= 1x Keras predict, hrnn >= 1x Keras training. "n/a"
means a framework the target needs was not run.

The report's first lines give the date, CPU model, cores, load average (start and end: a high
one means the machine was shared and the figures are low and noisy), library versions, and
the BLAS and kernel in use per worker (threadpoolctl: internal API, version, architecture,
threads).

OpenBLAS kernel selection
-------------------------
Some machines set ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_L2_SIZE``), which makes NumPy's OpenBLAS
use an older, slower kernel than the CPU's own. Figures are always measured as the
environment is. When either variable is set, minikeras is measured a second time in workers
started without them (a "minikeras, openblas unset" row; this process and the tests never
change them), and the GEMM rate is measured in both environments. Only minikeras gets that
second row: TensorFlow computes with Eigen/oneDNN and PyTorch's wheels with MKL.

JSON (``--json PATH``)
----------------------
``{model: {framework: {"train_samples_per_s", "fit_samples_per_s", "predict_samples_per_s",
"peak_rss_mb", "startup_s", "range", "rounds", ...}}}``; minikeras' entry adds
``ratio_vs_keras`` / ``ratio_vs_torch`` (``{"train"|"fit"|"predict": {"median", "min", "max",
"per_round"}}``), GEMM-bound models add ``gemm_fraction`` (and the CNNs ``gemm_bound_s``,
``gemm_bound_fraction``; medians, with ``*_range``), and a second-environment measurement
sits inside its framework's entry under ``"openblas_unset"``. Machine, versions, GEMM rates,
import times and errors are under the one key that is not a model: ``"_meta"``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from benchmarks.suite import FRAMEWORKS, RESULTS_DIR
from benchmarks.suite.machine import available
from benchmarks.suite.models import DEFAULT_MODELS, MODELS
from benchmarks.suite.orchestrate import run
from benchmarks.suite.report import render


def _names(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return names


def log(msg: str) -> None:
    print(msg, flush=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (2 rounds, 1/4 work)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated: minikeras,keras,torch (absent ones are skipped)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (5; quick: 2)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown here "
                        "(--scaling: the folder for its table, JSON and PNGs)")
    parser.add_argument("--scaling", action="store_true",
                        help="step time vs batch, sequence length and image size (issue 18)")
    parser.add_argument("--sweeps", default=None, help="--scaling: comma-separated sweeps")
    args = parser.parse_args(argv)
    models = _names(args.models, tuple(MODELS), "model")
    wanted = _names(args.frameworks, FRAMEWORKS, "framework")
    frameworks = [fw for fw in wanted if available(fw)]
    for fw in sorted(set(wanted) - set(frameworks)):
        log(f"{fw} is not installed: left out")
    if not frameworks:
        raise SystemExit("no framework to benchmark")
    command = " ".join(["python -m benchmarks",
                        shlex.join(sys.argv[1:] if argv is None else argv)]).strip()
    if args.scaling:
        from benchmarks.suite import scaling

        sweeps = _names(args.sweeps or ",".join(scaling.SWEEPS), tuple(scaling.SWEEPS), "sweep")
        return scaling.main(frameworks, args.quick, args.out, command, log, sweeps)
    rounds = args.rounds or (2 if args.quick else 5)
    if not args.quick:
        args.json = args.json or RESULTS_DIR / "cpu.json"
        args.out = args.out or RESULTS_DIR / "cpu.md"
    results = run(models, frameworks, rounds, args.quick, log)
    results["_meta"]["command"] = command
    text = render(results, command)
    print("\n" + text)
    for path, content in ((args.json, json.dumps(results, indent=1) + "\n"), (args.out, text)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            log(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()

"""The benchmark suite behind ``python -m benchmarks`` (its docstring is the user's guide).

Modules, in the order a run uses them:

* ``models``: what is timed per tutorial model (sizes, data, targets);
* ``growth``: the two models learners grow into (keras-io convnet, hierarchical RNN);
* ``memory``: a model's analytic working set (weights, optimizer, activations, patches);
* ``scaling``: ``--scaling``, step time vs batch size, sequence length and image size;
* ``machine``: versions, CPU, import times, the environment the children get;
* ``gemm``: the machine's float32 GEMM rate, FLOP counts and the CNN's GEMM-only bound;
* ``orchestrate``: starts one worker process per (model, framework), interleaves rounds;
* ``worker``: the process that imports one framework and times one model;
* ``torch_models``: the PyTorch twins of the tutorial models (CPU);
* ``stats``: medians, ranges, per-round ratios, targets;
* ``report``: the markdown tables.

This package must stay cheap to import: a worker's start-up time is one of the figures.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "benchmarks" / "results" / "suite"
FRAMEWORKS = ("minikeras", "keras", "torch")

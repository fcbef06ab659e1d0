"""Where a tutorial model's training step spends its time in minikeras: two views of it.

    python -m benchmarks.profile_model lstm [--steps 300] [--out PATH.md]
    python -m benchmarks.profile_model cnn --steps 20

1. Per part of ``Model._train_step`` (each layer's forward and backward, the loss, the
   optimizer update), timed in place during real ``train_on_batch`` calls on the
   benchmark's data, as milliseconds per step and shares of the step.
2. A pyinstrument call tree of the same steps (when pyinstrument is installed:
   ``pip install -e ".[bench]"``), which shows the NumPy calls inside each part.

The models, batches and data are the benchmark suite's (``benchmarks/suite/models.py``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import minikeras as mk
from benchmarks.suite.models import MODELS, arrays
from benchmarks.suite.worker import Runner


def _timed_parts(runner: Runner, steps: int) -> tuple[dict[str, float], float]:
    """Milliseconds per step of each part, by wrapping the parts for these steps only."""
    model = runner.model
    spent: dict[str, float] = {}
    wrapped: list[tuple[Any, str]] = []

    def wrap(obj: Any, attr: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

        setattr(obj, attr, timed)
        wrapped.append((obj, attr))

    for layer in model.layers:
        wrap(layer, "forward", f"{layer.name} forward")
        wrap(layer, "backward", f"{layer.name} backward")
        if type(layer).backward_from_logits is not mk.layers.Layer.backward_from_logits:
            wrap(layer, "backward_from_logits", f"{layer.name} backward (from logits)")
    wrap(model, "_loss_and_grads", "loss and dL/d(output)")
    wrap(model.optimizer, "apply", "optimizer update")
    wrap(model, "_update_metrics", "metrics")
    try:
        t0 = time.perf_counter()
        for _ in range(steps):
            runner.train_step()
        total = (time.perf_counter() - t0) / steps * 1e3
    finally:
        for obj, attr in wrapped:
            delattr(obj, attr)
    return {k: v / steps * 1e3 for k, v in spent.items()}, total


def profile(key: str, steps: int) -> str:
    runner = Runner("minikeras", mk, key, arrays(MODELS[key], quick=False))
    for _ in range(5):
        runner.train_step()
    parts, total = _timed_parts(runner, steps)
    lines = [f"# Profile of one minikeras training step: {MODELS[key].title}", "",
             f"`python -m benchmarks.profile_model {key} --steps {steps}`: {total:.3f} ms per "
             "`train_on_batch` step (mean over the steps).", "",
             "Nested parts overlap (a backward that calls backward_from_logits counts in "
             "both); the rest of the step is `train_on_batch`'s own work (input checks, "
             "zeroing gradients, collecting weights).", "",
             "| part | ms per step | share of the step |", "|---|---:|---:|"]
    for name, ms in parts.items():
        lines.append(f"| {name} | {ms:.3f} | {ms / total:.0%} |")
    try:
        from pyinstrument import Profiler
    except ImportError:
        lines += ["", "(pyinstrument is not installed: no call tree)"]
        return "\n".join(lines) + "\n"
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(steps):
        runner.train_step()
    profiler.stop()
    tree = profiler.output_text(unicode=False, color=False, show_all=False)
    lines += ["", "## pyinstrument call tree of the same steps", "", "```", tree.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    text = profile(args.model, args.steps)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()

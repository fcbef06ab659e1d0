"""``minikeras.utils.trace``: watch a model train, layer by layer, step by step.

    with minikeras.utils.trace(model, print_every=100) as t:
        model.fit(x, y, epochs=1)
    t.print()                     # the table of the last training step
    t.plot("trace.png")           # activation and gradient histograms, one row per layer

For every layer call of every forward pass it records the input and output shapes and
the output's mean, std and fraction of zeros (dead relus); for every backward, the norms
of dL/d(output) (dL/d(logits) after a softmax/sigmoid trained with cross-entropy) and of
dL/d(input); for every training step, each layer's weight-gradient norm |dL/dW|, the size
of the optimizer's update |ΔW| and its ratio to the weights |ΔW|/|W| (about 1e-3 is the
usual healthy order of magnitude).

How: inside the ``with`` block the model's layers (nested models' layers too;
TimeDistributed counts as one layer) get their ``forward``, ``backward`` and
``backward_from_logits`` replaced by recording wrappers, set as *instance* attributes that
shadow the class methods; so do the model's ``_forward``, ``_loss_and_grads`` and
``_train_step``. Leaving the block deletes them. Outside it nothing is checked or recorded:
the core code has no hooks, so tracing costs nothing when it is not in use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minikeras import backend


@dataclass
class LayerCall:
    """One call of one layer in one pass (a layer shared by two calls has two)."""

    name: str
    kind: str                                   # the class name, e.g. "Dense"
    input_shape: Any
    output_shape: Any
    mean: float
    std: float
    zeros: float                                # fraction of outputs exactly 0
    grad_output: float | None = None            # |dL/d(output)|, or |dL/d(logits)|
    grad_input: float | None = None             # |dL/d(input)|; None: not needed (data)
    from_logits: bool = False
    # per weight name: (|dL/dW|, |ΔW|, |W| after the step); on the layer's first call only
    weights: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    activations: np.ndarray | None = None       # a sample of the outputs, for plot()
    gradients: np.ndarray | None = None         # a sample of dL/d(output), for plot()

    def weight_norms(self) -> tuple[float, float, float] | None:
        """(|dL/dW|, |ΔW|, |W|) over all of this layer's weights together."""
        if not self.weights:
            return None
        g, u, w = (math.sqrt(sum(v[i] ** 2 for v in self.weights.values())) for i in range(3))
        return g, u, w


@dataclass
class Pass:
    """One forward pass (and its backward and update, when it was a training step)."""

    training: bool
    step: int | None = None                     # 1, 2, ... for training steps
    loss: float | None = None
    calls: list[LayerCall] = field(default_factory=list)


def _norm(a: Any) -> float:
    return float(backend.to_float(backend.xp.sqrt((a.astype("float64") ** 2).sum())))


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, list | tuple) else v


def _shape(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [tuple(a.shape) for a in v]
    return tuple(v.shape)


def _leaf_layers(model: Any) -> list[Any]:
    """The layers whose calls are recorded: a nested model is opened up, an input is not."""
    from minikeras.layers.core import InputLayer

    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "_forward"):
            out += [la for la in _leaf_layers(layer) if all(la is not o for o in out)]
        elif not isinstance(layer, InputLayer) and all(layer is not o for o in out):
            out.append(layer)
    return out


class Trace:
    """What ``trace(model)`` returns: a context manager, then the record of what happened.

    ``passes``: every forward pass seen (``predict``/``evaluate`` ones too), oldest first;
    ``steps``: the training passes only. Samples for ``plot`` are kept for the latest
    pass and the latest training step only (the statistics are kept for all).
    """

    def __init__(self, model: Any, print_every: int | None = None,
                 print_fn: Callable[[str], Any] = print, sample_size: int = 2000) -> None:
        self.model = model
        self.print_every = print_every
        self.print_fn = print_fn
        self.sample_size = sample_size
        self.passes: list[Pass] = []
        self._layers = _leaf_layers(model)
        self._saved: list[tuple[Any, str, bool, Any]] = []
        self._current: Pass | None = None
        self._open: dict[int, list[LayerCall]] = {}   # layer id -> its calls in this pass
        self._in_forward = False
        self._last_step: Pass | None = None
        self._sampled: list[Pass] = []      # the passes whose calls still hold samples

    @property
    def steps(self) -> list[Pass]:
        return [p for p in self.passes if p.training and p.step is not None]

    # ------------------------------------------------------------------ install / remove
    def _patch(self, obj: Any, attr: str, wrapper: Callable) -> None:
        own = attr in obj.__dict__
        self._saved.append((obj, attr, own, obj.__dict__.get(attr)))
        setattr(obj, attr, wrapper)

    def __enter__(self) -> Trace:
        for layer in self._layers:
            self._patch(layer, "forward", self._wrap_forward(layer, layer.forward))
            self._patch(layer, "backward", self._wrap_backward(layer, layer.backward, False))
            self._patch(layer, "backward_from_logits",
                        self._wrap_backward(layer, layer.backward_from_logits, True))
        m = self.model
        self._patch(m, "_forward", self._wrap_pass(m._forward))
        self._patch(m, "_loss_and_grads", self._wrap_loss(m._loss_and_grads))
        self._patch(m, "_train_step", self._wrap_step(m._train_step))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._finish()
        for obj, attr, own, old in reversed(self._saved):
            if own:
                setattr(obj, attr, old)
            else:
                delattr(obj, attr)
        self._saved = []

    # ------------------------------------------------------------------ the wrappers
    def _wrap_pass(self, forward: Callable) -> Callable:
        def traced_forward(inputs: list[Any], training: bool) -> list[Any]:
            self._finish()       # a pass nobody trained on (predict, evaluate) ends here
            self._current = Pass(training=bool(training))
            self._in_forward = True
            try:
                return forward(inputs, training)
            finally:
                self._in_forward = False
        return traced_forward

    def _wrap_loss(self, loss_and_grads: Callable) -> Callable:
        def traced_loss(*args: Any, **kwargs: Any) -> tuple:
            total, grads, flags = loss_and_grads(*args, **kwargs)
            if self._current is not None:
                self._current.loss = backend.to_float(total)
            return total, grads, flags
        return traced_loss

    def _wrap_forward(self, layer: Any, forward: Callable) -> Callable:
        def traced(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            out = forward(inputs, *args, **kwargs)
            if self._in_forward and self._current is not None:
                y = _first(out)
                yf = y.astype("float64")
                call = LayerCall(layer.name, type(layer).__name__, _shape(inputs), _shape(out),
                                 backend.to_float(yf.mean()), backend.to_float(yf.std()),
                                 backend.to_float((y == 0).mean()),
                                 activations=self._sample(y))
                self._current.calls.append(call)
                self._open.setdefault(id(layer), []).append(call)
            return out
        return traced

    def _wrap_backward(self, layer: Any, backward: Callable, from_logits: bool) -> Callable:
        def traced(grad: Any) -> Any:
            dx = backward(grad)
            calls = self._open.get(id(layer))
            if calls:
                # backward runs in reverse order: the latest call without a gradient is ours
                call = next((c for c in reversed(calls) if c.grad_output is None), calls[-1])
                g = _first(grad)
                if g is not None:
                    call.grad_output = _norm(g)
                    call.gradients = self._sample(g)
                parts = [d for d in (dx if isinstance(dx, list | tuple) else [dx])
                         if d is not None]
                call.grad_input = (math.sqrt(sum(_norm(d) ** 2 for d in parts))
                                   if parts else None)
                call.from_logits = from_logits
            return dx
        return traced

    def _wrap_step(self, train_step: Callable) -> Callable:
        def traced_step(*args: Any, **kwargs: Any) -> Any:
            weights = {id(la): la.trainable_weights for la in self._layers}
            before = {id(w): backend.xp.array(w.value, copy=True)
                      for ws in weights.values() for w in ws}
            result = train_step(*args, **kwargs)
            done = self._current
            if done is not None:
                done.step = len(self.steps) + 1
                for layer in self._layers:
                    calls = self._open.get(id(layer))
                    if calls:
                        calls[0].weights = {
                            w.name: (_norm(w.grad) if w.grad is not None else 0.0,
                                     _norm(w.value - before[id(w)]), _norm(w.value))
                            for w in weights[id(layer)]}
                self._finish()
                if self.print_every and done.step % self.print_every == 0:
                    self.print(-1)
            return result
        return traced_step

    # ------------------------------------------------------------------ bookkeeping
    def _sample(self, a: Any) -> np.ndarray:
        flat = a.reshape(-1)
        stride = max(1, flat.size // self.sample_size)
        return backend.to_numpy(flat[::stride][: self.sample_size]).astype(np.float64)

    def _finish(self) -> None:
        """File the current pass; drop the plot samples no longer the latest of their kind."""
        done, self._current, self._open = self._current, None, {}
        if done is None or not done.calls:
            return
        self.passes.append(done)
        if done.training and done.step is not None:
            self._last_step = done
        keep = [done, self._last_step]
        for p in self._sampled:
            if all(p is not k for k in keep):
                for c in p.calls:
                    c.activations = c.gradients = None
        self._sampled = [k for k in keep if k is not None]

    def _pick(self, step: int | None) -> Pass:
        pool = self.steps or self.passes
        if not pool:
            raise ValueError("trace: nothing was recorded (run fit, train_on_batch or predict "
                             "inside the `with trace(model)` block).")
        return pool[-1 if step is None else step]

    # ------------------------------------------------------------------ output
    def table(self, step: int | None = None) -> str:
        """The table of one training step (``step`` indexes ``steps``; default: the last)."""
        p = self._pick(step)
        head = (f"Step {p.step}" if p.step is not None else "Forward pass (no update)")
        if p.loss is not None:
            head += f" - loss: {p.loss:.4g}"
        cols = ["Layer (type)", "Input shape", "Output shape", "mean", "std", "zeros",
                "|dL/dy|", "|dL/dx|", "|dL/dW|", "|ΔW|", "|ΔW|/|W|"]
        rows = [cols]
        for c in p.calls:
            w = c.weight_norms()
            rows.append([f"{c.name} ({c.kind})", str(c.input_shape), str(c.output_shape),
                         f"{c.mean:.3g}", f"{c.std:.3g}", f"{100 * c.zeros:.1f}%",
                         _num(c.grad_output) + ("*" if c.from_logits else ""),
                         _num(c.grad_input), _num(w and w[0]), _num(w and w[1]),
                         _num(w[1] / w[2] if w and w[2] else None)])
        widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
        lines = [head] + ["  ".join(cell.ljust(wd) if i < 3 else cell.rjust(wd)
                                    for i, (cell, wd) in enumerate(zip(r, widths, strict=True)))
                          for r in rows]
        if any(c.from_logits for c in p.calls):
            lines.append("* dL/d(logits): the loss went straight through the softmax/sigmoid")
        return "\n".join(lines)

    def print(self, step: int | None = None) -> None:
        """Print ``table(step)`` through ``print_fn``."""
        self.print_fn(self.table(step))

    def plot(self, path: Any = None, step: int | None = None, bins: int = 40) -> Any:
        """Histograms of each layer's outputs and of dL/d(output), one row per layer call.

        Returns the matplotlib ``Figure`` (made without pyplot, so no window opens); saves
        it to ``path`` when given. Samples exist for the latest step only.
        """
        from matplotlib.figure import Figure

        p = self._pick(step)
        calls = [c for c in p.calls if c.activations is not None]
        if not calls:
            raise ValueError("trace.plot: samples are kept for the latest step only.")
        fig = Figure(figsize=(9, 1.8 * len(calls) + 0.6), layout="constrained")
        axes = fig.subplots(len(calls), 2, squeeze=False)
        for row, c in zip(axes, calls, strict=True):
            row[0].hist(c.activations, bins=bins, color="tab:blue")
            row[0].set_title(f"{c.name}: outputs (zeros {100 * c.zeros:.0f}%)", fontsize=9)
            if c.gradients is not None:
                row[1].hist(c.gradients, bins=bins, color="tab:red")
                what = "dL/d(logits)" if c.from_logits else "dL/d(output)"
                row[1].set_title(f"{c.name}: {what}", fontsize=9)
            else:
                row[1].set_axis_off()
        label = f"step {p.step}" if p.step is not None else "forward pass"
        fig.suptitle(f"{self.model.name}, {label}")
        if path is not None:
            fig.savefig(path)
        return fig


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"


def trace(model: Any, print_every: int | None = None, print_fn: Callable[[str], Any] = print,
          sample_size: int = 2000) -> Trace:
    """Record what happens inside ``model`` during the ``with`` block (see the module doc).

    ``print_every=n`` prints the table after every n-th training step; ``print_fn``
    receives it (default ``print``); ``sample_size`` values per layer are kept for ``plot``.
    """
    return Trace(model, print_every=print_every, print_fn=print_fn, sample_size=sample_size)

"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

``show_flops=True`` and ``show_memory=True`` (minikeras only; Keras has neither) add a
column each and a footer: the forward FLOPs of one sample per layer, and the bytes of each
layer's output per sample, plus the memory of weights, optimizer state and activations.
Without them the text is Keras' own, byte for byte.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np


def readable_memory_size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _shape_text(layer: Any) -> str:
    try:
        shape = layer.output_shape
    except AttributeError:
        return "?"
    if isinstance(shape, list):
        return ", ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def _params_text(layer: Any) -> str:
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _row(cells: list[str], widths: list[int], right: set[int]) -> str:
    """One table row; a cell too long for its column wraps at spaces, and a word longer
    than the column is cut with an ellipsis (as rich does for Keras)."""
    wrapped = [[line if len(line) <= w - 2 else line[: w - 3] + "…"
                for line in textwrap.wrap(cell, w - 2, break_long_words=False)] or [""]
               for cell, w in zip(cells, widths, strict=True)]
    lines = []
    for k in range(max(len(c) for c in wrapped)):
        parts = []
        for i, (cell, w) in enumerate(zip(wrapped, widths, strict=True)):
            text = (cell[k] if k < len(cell) else "")[: w - 2]
            parts.append(" " + (text.rjust(w - 2) if i in right else text.ljust(w - 2)) + " ")
        lines.append("│" + "│".join(parts) + "│")
    return "\n".join(lines)


def _count(arrays: list[Any]) -> tuple[int, int]:
    """(number of scalars, bytes) of weights (Variables) or optimizer state arrays."""
    n = size = 0
    for a in arrays:
        count = int(np.prod(a.shape))
        n += count
        size += count * np.dtype(a.dtype).itemsize
    return n, size


def print_summary(model: Any, print_fn: Callable[[str], Any] = print, show_flops: bool = False,
                  show_memory: bool = False) -> None:
    # A functional model that is not a plain chain gets Keras' "Connected to" column.
    connections = getattr(model, "_connected_to", lambda: None)()
    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 24, 15]
    if connections is not None:
        headers.append("Connected to")
        widths = [21, 19, 12, 19]
    right = {2}
    extra: list[Callable[[Any], str]] = []
    if show_flops:
        extra.append(lambda la: readable_count(layer_flops(la)))
        headers.append("FLOPs")
    if show_memory:
        extra.append(lambda la: _memory_text(output_bytes(la)))
        headers.append("Output mem")
    for _ in extra:
        right.add(len(widths))
        widths.append(12)
    line = lambda a, b, c: a + b.join("━" * w for w in widths) + c  # noqa: E731
    out = [f'Model: "{model.name}"', line("┏", "┳", "┓")]
    out.append("┃" + "┃".join(
        " " + (h.rjust(w - 2) if i in right else h.ljust(w - 2)) + " "
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))) + "┃")
    out.append(line("┡", "╇", "┩"))
    layers = list(getattr(model, "operations", model.layers))   # x + y prints too, as in Keras
    for i, layer in enumerate(layers):
        cells = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer),
                 _params_text(layer)]
        if connections is not None:
            cells.append(connections[id(layer)])
        cells += [column(layer) for column in extra]
        out.extend(_row(cells, widths, right).split("\n"))
        if i < len(layers) - 1:
            out.append("├" + "┼".join("─" * w for w in widths) + "┤")
    out.append("└" + "┴".join("─" * w for w in widths) + "┘")
    built = all(la.built for la in layers) and bool(layers)
    trainable_w = model.trainable_weights if built else []
    non_trainable_w = model.non_trainable_weights if built else []
    trainable, trainable_bytes = _count(trainable_w)
    non_trainable, non_trainable_bytes = _count(non_trainable_w)
    opt_vars: list[Any] = []
    opt = getattr(model, "optimizer", None)
    if opt is not None and getattr(opt, "_tracked", None):
        opt_vars = opt.variables
    # Bytes come from each array's dtype, as Keras counts them: the int64 iteration counter
    # is 8 bytes, so SGD's two optimizer params show as 12.00 B.
    optimizer_params, optimizer_bytes = _count(opt_vars)
    total = trainable + non_trainable + optimizer_params
    total_bytes = trainable_bytes + non_trainable_bytes + optimizer_bytes
    out.append(f" Total params: {total:,} ({readable_memory_size(total_bytes)})")
    out.append(f" Trainable params: {trainable:,} ({readable_memory_size(trainable_bytes)})")
    out.append(f" Non-trainable params: {non_trainable:,} "
               f"({readable_memory_size(non_trainable_bytes)})")
    if optimizer_params:
        out.append(f" Optimizer params: {optimizer_params:,} "
                   f"({readable_memory_size(optimizer_bytes)})")
    if show_flops or show_memory:
        out += costs_footer(model, layers, show_flops, show_memory, trainable_bytes,
                            non_trainable_bytes, optimizer_bytes if opt_vars else None)
    for text in out:
        print_fn(text)


# ---------------------------------------------------------------------- FLOPs and memory
def _memory_text(n_bytes: int | None) -> str:
    return "?" if n_bytes is None else readable_memory_size(n_bytes)


def readable_count(n: float | None) -> str:
    """1234567 -> '1.23M' (FLOPs are counts, so powers of 1000)."""
    if n is None:
        return "?"
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.3g}{unit}" if unit else f"{int(n)}"
        n /= 1000
    return f"{n:.3g}P"


def _size(shape: Any) -> int | None:
    """Elements per sample of a (batch, ...) shape, or of a list of them (None: unknown)."""
    if isinstance(shape, list):
        sizes = [_size(s) for s in shape]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]
    rest = tuple(shape)[1:]
    return None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))


def layer_flops(layer: Any, input_shape: Any = None) -> int | None:
    """Floating-point operations of one forward pass of one sample through ``layer``.

    A multiply-add counts 2 (x·W with x of D features and U units: 2·D·U), a bias add or an
    element-wise operation 1 per element; a max or a sum over a window, one per element read.
    Activation functions are not counted (exp and tanh cost more than one, and vary).
    The backward pass of a layer with weights costs about twice its forward: one product for
    dL/dW and one for dL/dx. None when a shape is unknown.
    """
    from minikeras import ops
    from minikeras.layers import convolutional, core, merging, pooling, rnn_base, wrappers

    if hasattr(layer, "_forward"):                                   # a nested model
        parts = [layer_flops(la) for la in layer.layers]
        return None if None in parts else sum(parts)  # type: ignore[arg-type]
    try:
        shape = layer.input_shape if input_shape is None else tuple(input_shape)
        out = _size(layer.output_shape if input_shape is None
                    else layer.compute_output_shape(shape))
    except (AttributeError, TypeError, ValueError):
        return None
    if out is None:
        return None
    if isinstance(layer, core.Dense):
        return out * 2 * shape[-1] + (out if layer.use_bias else 0)
    if isinstance(layer, convolutional.Conv2D):
        kh, kw, cin, _ = layer.kernel.shape
        return out * 2 * kh * kw * cin + (out if layer.use_bias else 0)
    if isinstance(layer, rnn_base.RNNBase):
        x_shape = shape[0] if isinstance(shape, list) else shape
        steps, features = x_shape[1], x_shape[2]
        if steps is None:
            return None
        gates = layer.kernel.shape[1]                  # u, 4u (LSTM) or 3u (GRU)
        return steps * (2 * (features + layer.units) * gates + gates)
    if isinstance(layer, wrappers.TimeDistributed):
        inner = layer_flops(layer.layer, (shape[0], *shape[2:]))
        return None if inner is None or shape[1] is None else shape[1] * inner
    if isinstance(layer, pooling._Pooling2D):
        return out * layer.pool_size[0] * layer.pool_size[1]
    if isinstance(layer, pooling._GlobalPooling2D):
        return _size(shape)
    if isinstance(layer, merging._Merge) and not isinstance(layer, merging.Concatenate):
        return out * (len(shape) - 1)
    if isinstance(layer, core.Activation | core.Dropout):
        return out
    if isinstance(layer, ops.Matmul):
        a = layer.arguments_with(layer._input_shape)[0]   # a's shape, or the constant a
        inner = a[-1] if isinstance(a, tuple) else np.shape(a)[-1]
        return None if inner is None else out * 2 * inner
    if isinstance(layer, ops.Operation) and not isinstance(layer, ops.GetItem):
        return out            # one arithmetic operation per output element
    return 0                  # reshapes, padding, copies: data movement, no arithmetic


def output_bytes(layer: Any) -> int | None:
    """Bytes of the layer's output for one sample (in the layer's dtype)."""
    try:
        n = _size(layer.output_shape)
    except AttributeError:
        return None
    return None if n is None else n * np.dtype(layer.dtype).itemsize


def costs_footer(model: Any, layers: list[Any], show_flops: bool, show_memory: bool,
                 trainable_bytes: int, non_trainable_bytes: int,
                 optimizer_bytes: int | None) -> list[str]:
    """The lines under the table for ``show_flops`` / ``show_memory``."""
    out = []
    if show_flops:
        flops = [layer_flops(la) for la in layers]
        total = None if None in flops else sum(flops)  # type: ignore[arg-type]
        out.append(f" Forward FLOPs per sample: {readable_count(total)} (a training step: "
                   "about 3x, backward computes dL/dW and dL/dx)")
    if show_memory:
        opt = getattr(model, "optimizer", None)
        note = ""
        if optimizer_bytes is None and opt is not None:
            # not created until the first step: one array per slot and weight, + 2 scalars
            slots = len(getattr(opt, "_slot_names", ()))
            optimizer_bytes = slots * trainable_bytes + 12
            note = f" (from the first step: {slots} per weight)"
        outs = [output_bytes(la) for la in layers]
        act = None if None in outs else sum(outs)  # type: ignore[arg-type]
        weights = trainable_bytes + non_trainable_bytes
        out.append(f" Weights memory: {readable_memory_size(weights)}")
        if optimizer_bytes is not None:
            out.append(f" Optimizer state memory: {readable_memory_size(optimizer_bytes)}{note}")
        out.append(f" Activations memory per sample: {_memory_text(act)} (layer outputs; "
                   "x batch size, + backward caches)")
    return out

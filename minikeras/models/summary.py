"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts."""

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
    """One table row; a cell too long for its column wraps at spaces (as rich does)."""
    wrapped = [textwrap.wrap(cell, w - 2) or [""] for cell, w in zip(cells, widths, strict=True)]
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


def print_summary(model: Any, print_fn: Callable[[str], Any] = print) -> None:
    # A functional model that is not a plain chain gets Keras' "Connected to" column.
    connections = getattr(model, "_connected_to", lambda: None)()
    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 24, 15]
    if connections is not None:
        headers.append("Connected to")
        widths = [21, 19, 12, 19]
    right = {2}
    line = lambda a, b, c: a + b.join("━" * w for w in widths) + c  # noqa: E731
    out = [f'Model: "{model.name}"', line("┏", "┳", "┓")]
    out.append("┃" + "┃".join(
        " " + (h.rjust(w - 2) if i in right else h.ljust(w - 2)) + " "
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))) + "┃")
    out.append(line("┡", "╇", "┩"))
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        cells = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer),
                 _params_text(layer)]
        if connections is not None:
            cells.append(connections[id(layer)])
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
    for text in out:
        print_fn(text)

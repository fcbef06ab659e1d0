"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts."""

from __future__ import annotations

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
    parts = []
    for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
        text = cell[: w - 2]
        parts.append(" " + (text.rjust(w - 2) if i in right else text.ljust(w - 2)) + " ")
    return "│" + "│".join(parts) + "│"


def print_summary(model: Any, print_fn: Callable[[str], Any] = print) -> None:
    widths = [33, 24, 15]
    right = {2}
    line = lambda a, b, c: a + b.join("━" * w for w in widths) + c  # noqa: E731
    out = [f'Model: "{model.name}"', line("┏", "┳", "┓")]
    out.append("┃" + "┃".join(
        " " + (h.rjust(w - 2) if i in right else h.ljust(w - 2)) + " "
        for i, (h, w) in enumerate(zip(["Layer (type)", "Output Shape", "Param #"], widths,
                                       strict=True))) + "┃")
    out.append(line("┡", "╇", "┩"))
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        out.append(_row([f"{layer.name} ({type(layer).__name__})", _shape_text(layer),
                         _params_text(layer)], widths, right))
        if i < len(layers) - 1:
            out.append("├" + "┼".join("─" * w for w in widths) + "┤")
    out.append("└" + "┴".join("─" * w for w in widths) + "┘")
    built = all(la.built for la in layers) and bool(layers)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights) if built else 0
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) if built \
        else 0
    optimizer_params = 0
    opt = getattr(model, "optimizer", None)
    if opt is not None and getattr(opt, "_tracked", None):
        optimizer_params = sum(int(np.prod(np.shape(v))) for v in opt.variables)
    total = trainable + non_trainable + optimizer_params
    bytes_per = 4
    out.append(f" Total params: {total:,} ({readable_memory_size(total * bytes_per)})")
    out.append(f" Trainable params: {trainable:,} ({readable_memory_size(trainable * bytes_per)})")
    out.append(f" Non-trainable params: {non_trainable:,} "
               f"({readable_memory_size(non_trainable * bytes_per)})")
    if optimizer_params:
        out.append(f" Optimizer params: {optimizer_params:,} "
                   f"({readable_memory_size(optimizer_params * bytes_per)})")
    for text in out:
        print_fn(text)

"""One-hot encoding of class labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras.utils import validation


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer labels -> one-hot float64 rows (as Keras returns), last axis of size num_classes.

    A trailing axis of size 1 is dropped first ((N, 1) labels give (N, num_classes)).
    """
    validation.check_positive_int(num_classes, "num_classes", "to_categorical()")
    y = validation.as_array(x, "x", "to_categorical()")
    if y.dtype.kind == "f":
        frac = y[np.mod(y, 1) != 0]
        if frac.size:
            raise ValueError(f"to_categorical(): labels in `x` must be integers (class "
                             f"indices); received {frac.size} non-integer value(s), e.g. "
                             f"{float(frac.flat[0])!r}.")
        y = y.astype(np.int64)
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1).astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical(): labels must be >= 0 (class indices); received a "
                         f"label {int(y.min())}.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {int(y.max())} is out of range for num_classes={num_classes} "
            f"(labels must be in 0..{num_classes - 1})."
        )
    out = np.zeros((y.size, num_classes), dtype=np.float64)
    out[np.arange(y.size), y] = 1
    return out.reshape((*shape, num_classes))

"""Where fit / evaluate / predict take their batches from: arrays, a generator, a PyDataset.

Every loop of the trainer reads ``for bx, by, bw in source.epoch():`` whatever the data,
so that arrays and Python batches go through one training step. Each source yields device
batches: ``bx`` a list of arrays (one per model input), ``by`` a list (one per output) or
None, ``bw`` the per-sample weights or None.

- ``ArrayBatches``: slices of arrays already checked by ``DataMixin._prepare``, in order or
  in a fresh permutation per epoch (``shuffle=True``);
- ``PythonBatches``: a Python generator or a ``keras.utils.PyDataset``; each batch is a
  tuple ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` and goes through the same checks
  as arrays when it arrives (an error names the batch). A generator is read once: its batches
  are not replayed. A PyDataset is read by index, ``len(dataset)`` batches per pass (its
  batch order permuted per epoch with ``shuffle=True``), and ``on_epoch_end()`` is called
  after each pass.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.utils.py_dataset import PyDataset

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
           "generator can generate at least `steps_per_epoch * epochs` batches.")


def is_python_batches(x: Any) -> bool:
    """A Python generator or a PyDataset (Keras takes these two kinds of Python batches)."""
    return isinstance(x, PyDataset) or inspect.isgenerator(x)


class ArrayBatches:
    """Batches of ``batch_size`` rows cut from checked host arrays (the last may be short)."""

    ran_out = False   # arrays never run out

    def __init__(self, xs: list, ys: list | None, sw: Any, n: int, batch_size: int,
                 shuffle: bool = False) -> None:
        self.xs, self.ys, self.sw, self.n = xs, ys, sw, n
        self.batch_size, self.shuffle = batch_size, shuffle
        self.steps: int | None = -(-n // batch_size)
        self.seen = self.steps   # batches in the last pass

    @staticmethod
    def _take(arrays: list[np.ndarray], idx: np.ndarray, ordered: bool) -> list[Any]:
        # Contiguous slices are views (no copy on the CPU); shuffled batches need a gather.
        if ordered and len(idx):
            sl = slice(int(idx[0]), int(idx[-1]) + 1)
            return [backend.to_device(a[sl]) for a in arrays]
        return [backend.to_device(a[idx]) for a in arrays]

    def epoch(self) -> Iterator[tuple[list, list | None, Any]]:
        order = backend.rng().permutation(self.n) if self.shuffle else None
        idx_all = np.arange(self.n) if order is None else order
        for i in range(0, self.n, self.batch_size):
            idx = idx_all[i:i + self.batch_size]
            by = None if self.ys is None else self._take(self.ys, idx, order is None)
            bw = None if self.sw is None else backend.to_device(self.sw[idx])
            yield self._take(self.xs, idx, order is None), by, bw

    def end_epoch(self) -> None:
        """Nothing to tell arrays at the end of a pass."""


class PythonBatches:
    """Batches from a generator or a PyDataset, checked one by one by ``prepare``.

    ``prepare(x, y, sample_weight, where)`` is the model's ``_prepare`` (the checks at the
    door for arrays); ``weigh(y)`` turns targets into per-sample weights (``class_weight``).
    ``steps``: batches per pass; None reads a generator until it ends, a PyDataset
    ``len(dataset)`` batches. ``ran_out`` tells the loop that a pass got fewer batches than it
    was due (the trainer warns and stops, as Keras does).
    """

    def __init__(self, data: Any, steps: int | None, prepare: Callable, where: str,
                 targets: bool = True, shuffle: bool = False,
                 weigh: Callable | None = None) -> None:
        self.data, self.prepare, self.where = data, prepare, where
        self.targets, self.weigh = targets, weigh
        self.kind = "PyDataset" if isinstance(data, PyDataset) else "generator"
        self.shuffle = shuffle and self.kind == "PyDataset"
        self.ran_out = False
        self._seen: int | None = None   # a generator's batches in its first pass
        self.seen = 0                   # batches in the last pass
        if self.kind == "PyDataset":
            if not hasattr(data, "_workers"):
                warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` "
                              "in its constructor. `**kwargs` can include `workers`, "
                              "`use_multiprocessing`, `max_queue_size`. Do not pass these "
                              "arguments to `fit()`, as they will be ignored.", stacklevel=4)
            length = len(data)
            if length == 0:
                raise ValueError(f"{where}: the PyDataset has length 0; expected at least "
                                 "one batch.")
            self._len = length
            self.steps = length if steps is None else steps
        else:
            self.steps = steps

    def _raw(self) -> Iterator[tuple[int, Any]]:
        """(index, batch) for the user's batches of one pass, at most ``steps``; the index is
        the PyDataset's (shuffled or not), or the generator's count."""
        if self.kind == "PyDataset":
            due = self._len if self.steps is None else min(self.steps, self._len)
            order = backend.rng().permutation(self._len) if self.shuffle else range(self._len)
            for i in range(due):
                yield int(order[i]), self.data[int(order[i])]
        else:
            for i, batch in enumerate(self.data):
                yield i, batch
                if self.steps is not None and i + 1 >= self.steps:
                    return

    def _split(self, batch: Any, i: int) -> tuple[Any, Any, Any]:
        """(x, y, sample_weight) of one batch, as Keras reads its tuple."""
        if not isinstance(batch, tuple) or not 1 <= len(batch) <= 3:
            got = (f"a tuple of {len(batch)} elements" if isinstance(batch, tuple)
                   else f"a {type(batch).__name__}")
            raise ValueError(
                f"{self.where} (batch {i} of the {self.kind}): expected a tuple (x,), (x, y) "
                f"or (x, y, sample_weight); received {got}.")
        x, y, sw = (*batch, None, None)[:3]
        if self.targets and y is None:
            raise ValueError(f"{self.where} (batch {i} of the {self.kind}): no targets; "
                             "expected (x, y) or (x, y, sample_weight) (the model's loss "
                             "needs y).")
        if not self.targets:
            y, sw = None, None
        if self.weigh is not None:
            if sw is not None:
                raise ValueError(f"{self.where} (batch {i} of the {self.kind}): the batch "
                                 "holds sample weights and fit() got `class_weight`; expected "
                                 "one of them.")
            sw = self.weigh(y)
        return x, y, sw

    def epoch(self) -> Iterator[tuple[list, list | None, Any]]:
        count = 0
        for i, batch in self._raw():
            x, y, sw = self._split(batch, i)
            xs, ys, sw, _ = self.prepare(x, y, sw, f"{self.where} (batch {i} of the "
                                                    f"{self.kind})")
            count += 1
            yield ([backend.to_device(a) for a in xs],
                   None if ys is None else [backend.to_device(a) for a in ys],
                   None if sw is None else backend.to_device(sw))
        if self._seen is None and count == 0:
            raise ValueError(f"{self.where}: the {self.kind} yielded no batch; expected at "
                             "least one.")
        self.seen = count
        due = self.steps if self.steps is not None else self._seen
        self.ran_out = due is not None and count < due
        if self._seen is None:
            self._seen = count

    def end_epoch(self) -> None:
        if self.kind == "PyDataset":
            self.data.on_epoch_end()


def python_batches(model: Any, x: Any, y: Any, sample_weight: Any, steps: int | None,
                   where: str, targets: bool = True, shuffle: Any = False,
                   class_weight: Any = None) -> PythonBatches:
    """fit/evaluate/predict's source for a generator or PyDataset ``x``, with Keras' checks:
    y and sample_weight come inside the batches; ``class_weight`` weighs a PyDataset's
    batches (Keras refuses it for a generator); ``shuffle`` permutes a PyDataset's batch
    order per epoch and is ignored, with a warning, for a generator."""
    generator = inspect.isgenerator(x)
    kind = "a generator" if generator else "a PyDataset"
    for arg, value, what in (("y", y, "targets"),
                             ("sample_weight", sample_weight, "sample weights")):
        if value is not None:
            raise ValueError(f"{where}: When providing `x` as {kind}, `{arg}` should not be "
                             f"passed. Instead, the {what} should be included as part of the "
                             f"{kind[2:]}'s batches.")
    weigh = None
    if class_weight is not None:
        if generator:
            raise ValueError("Argument `class_weight` is not supported for Python generator "
                             f"inputs. Received: class_weight={class_weight!r}")
        if len(model.output_names) > 1:
            raise ValueError("`class_weight` is only supported for Models with a single "
                             "output.")
        weigh = lambda by: model._class_sample_weights(by, class_weight)  # noqa: E731
    shuffle = shuffle is True or shuffle == "true"
    if generator and shuffle:
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                      "provided as a generator. The generator is expected to yield "
                      "already-shuffled data.", stacklevel=3)
    return PythonBatches(x, steps, model._prepare, where, targets, shuffle, weigh)

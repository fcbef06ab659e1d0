"""``PyDataset``: batches computed in Python, one per index (Keras 3's ``keras.utils.PyDataset``).

A subclass defines ``__len__`` (batches per epoch) and ``__getitem__(index)`` (one batch:
``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``), and may define ``on_epoch_end()``,
which ``fit`` calls after each epoch (to reshuffle its samples, for instance).
"""

from __future__ import annotations

from typing import Any


class PyDataset:
    """Base class for datasets that build their batches in Python.

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are Keras' arguments for
    fetching batches in parallel threads or processes; minikeras accepts and stores them but
    always fetches each batch in the calling thread, in order, when the step needs it (so a
    learner can step into ``__getitem__`` with a debugger).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index: int) -> Any:
        """The batch at ``index`` (0 <= index < len(self))."""
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        raise NotImplementedError(f"{type(self).__name__} must define __len__().")

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_end(self) -> None:
        """Called by ``fit`` after each epoch; does nothing unless a subclass overrides it."""


#: Keras 2's name, still an alias of PyDataset in Keras 3
Sequence = PyDataset

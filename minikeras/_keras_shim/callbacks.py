"""``keras.callbacks``: minikeras' callbacks; ModelCheckpoint also takes Keras 2's spellings.

Keras 2 scripts write ``ModelCheckpoint("weights.best.hdf5", save_best_only=True)`` and
``period=5``. Keras 3 saves whole models only to ``.keras`` or ``.h5`` and has no ``period``.
Here a whole model may also go to ``.hdf5`` (the legacy HDF5 file, as Keras 2 wrote it), and
``period=N`` saves every N epochs as in Keras 2 (with a one-line DeprecationWarning giving
the Keras 3 way). Weights alone still go to ``.weights.h5`` (Keras 3's file), since minikeras
does not write Keras 2's weights-only HDF5 layout.
"""

import warnings
from typing import Any

from minikeras import callbacks as _callbacks
from minikeras.callbacks import *  # noqa: F403  (the whole Keras 3 callback namespace)

__all__ = [*_callbacks.__all__]


class ModelCheckpoint(_callbacks.ModelCheckpoint):
    """Keras 3's ModelCheckpoint, plus Keras 2's ``.hdf5`` whole-model files and ``period``."""

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", period: int | None = None, **kwargs: Any) -> None:
        path = str(filepath)
        legacy_file = path.endswith(".hdf5") and not save_weights_only
        if legacy_file:   # validated as ".h5", written by model.save as the legacy HDF5 file
            path_for_check = path[:-len(".hdf5")] + ".h5"
        else:
            path_for_check = path
        super().__init__(path_for_check, monitor, verbose, save_best_only, save_weights_only,
                         mode, **kwargs)
        self.filepath = path
        self.period = 1
        if period is not None:
            warnings.warn(f"ModelCheckpoint: `period={period}` is Keras 1/2 spelling; use "
                          "`save_freq` (in batches) or save every epoch.", DeprecationWarning,
                          stacklevel=2)
            self.period = int(period)
        self._epochs_since_last_save = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._epochs_since_last_save += 1
        if self._epochs_since_last_save >= self.period:
            self._epochs_since_last_save = 0
            super().on_epoch_end(epoch, logs)

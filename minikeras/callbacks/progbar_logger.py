"""ProgbarLogger: prints the epochs and their progress bars."""

from __future__ import annotations

from minikeras.callbacks.callback import Callback
from minikeras.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` (when N > 1) and the progress bar of each epoch.

    Without a number of steps (a generator of unknown length) the bar counts ``n/Unknown``
    in the first epoch, ends at the count it saw, and later epochs use that count (Keras)."""

    def __init__(self, verbose: int = 1) -> None:
        super().__init__()
        self.verbose = verbose
        self.bar: Progbar | None = None
        self.seen = 0   # batches of the current epoch
        self.learned: int | None = None   # an unknown epoch length, once one epoch ended

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.params.get("epochs", 1) > 1 and self.verbose:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)
        self.bar = Progbar(self.params.get("steps") or self.learned, verbose=self.verbose)
        self.seen = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.seen = batch + 1
        if self.bar is not None and self.verbose == 1:
            self.bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.bar is not None:
            if not self.params.get("steps"):
                self.learned = self.bar.target = self.bar.target or self.seen
            self.bar.update(self.params.get("steps") or self.bar.target, logs, finalize=True)

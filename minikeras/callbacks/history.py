"""History: each epoch's logs, kept in lists (``model.fit`` returns it)."""

from __future__ import annotations

from minikeras.callbacks.callback import Callback


class History(Callback):
    """``history.history[key]`` lists each epoch's value; ``history.epoch`` the indices."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

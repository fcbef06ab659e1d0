"""Callbacks: hooks the training loop calls, with Keras' names and order, one per file
(Keras 3's layout: ``keras/src/callbacks/<name>.py``).

``fit`` calls, in order: on_train_begin; per epoch on_epoch_begin, per batch
on_train_batch_begin/on_train_batch_end, then (with validation data) the test hooks, then
on_epoch_end(epoch, logs); finally on_train_end (the order in full: ``callback.py``).
``logs`` hold Python floats, and callbacks may add to them (ReduceLROnPlateau
and LearningRateScheduler add ``learning_rate``, which History and the progress bar then show).

Callbacks sit at import level 3: they never import layers, models or saving. They act on the
model through its methods (``self.model.save``, ``self.model.optimizer.learning_rate``...).
"""

from minikeras.callbacks.callback import Callback, CallbackList
from minikeras.callbacks.csv_logger import CSVLogger
from minikeras.callbacks.early_stopping import EarlyStopping
from minikeras.callbacks.history import History
from minikeras.callbacks.lambda_callback import LambdaCallback
from minikeras.callbacks.learning_rate_scheduler import LearningRateScheduler
from minikeras.callbacks.model_checkpoint import ModelCheckpoint
from minikeras.callbacks.monitor_callback import MonitorCallback
from minikeras.callbacks.progbar_logger import ProgbarLogger
from minikeras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from minikeras.callbacks.swap_ema_weights import SwapEMAWeights
from minikeras.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "MonitorCallback", "ProgbarLogger",
           "ReduceLROnPlateau", "SwapEMAWeights", "TerminateOnNaN"]

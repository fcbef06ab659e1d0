"""fit / evaluate / predict and the *_on_batch calls: batching, validation, progress.

Data arrive as NumPy arrays (or lists/dicts of them for several inputs/outputs) and are
checked and cast to floatx by ``data_adapter.py`` before anything moves; batches are cut in
order (or in a fresh permutation per epoch with ``shuffle=True``) and moved to the device one
at a time. Data may also come as a Python generator or a ``PyDataset`` of batches, each
checked the same way when it arrives (``batch_sources.py``); every loop reads its batches
from a source, so arrays and Python batches take the same steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.callbacks import Callback, CallbackList, History, ProgbarLogger
from minikeras.models.batch_sources import RAN_OUT, ArrayBatches, is_python_batches, python_batches
from minikeras.models.data_adapter import DataMixin
from minikeras.utils import validation
from minikeras.utils.progbar import Progbar


def class_weight_to_sample_weights(y: Any, class_weight: Mapping) -> np.ndarray:
    """Keras 3's per-sample weights from ``class_weight`` (a dict class index -> weight).

    Each sample's class is argmax(y) for one-hot targets (last axis > 1), else the label
    itself (integer labels, or 0/1 binary targets of shape (N,) or (N, 1)), rounded to the
    nearest integer; its weight is ``class_weight.get(class, 1.0)``. The loss then weighs
    sample i by wᵢ exactly as with ``sample_weight`` (sum over the batch of wᵢlᵢ, divided by
    the batch size).
    """
    if not isinstance(class_weight, Mapping):
        raise ValueError("`class_weight` must be a dict mapping class indices (integers) to "
                         f"weights (floats). Received: class_weight={class_weight!r}")
    strays = [k for k in class_weight if not isinstance(k, int | np.integer) or isinstance(k, bool)]
    if strays:   # Keras ignores them silently: they can never match a class index
        warnings.warn(f"class_weight keys {strays!r} are not class indices (integers); they "
                      "match no sample and are ignored.", stacklevel=3)
    labels = np.asarray(backend.to_numpy(y))
    if labels.ndim > 1:
        labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    classes = np.round(labels).astype("int32")
    if classes.ndim != 1:
        raise ValueError("`class_weight` needs one class per sample (targets of shape (N,), "
                         f"(N, 1) or one-hot (N, classes)); received y of shape {np.shape(y)}.")
    return np.array([class_weight.get(int(c), 1.0) for c in classes], dtype=backend.floatx())


class _LazyLogs(Mapping):
    """Batch logs read from the device only if some callback actually looks at them."""

    def __init__(self, model: Any, watch: Any = None, epoch: int = 0, step: int = 0) -> None:
        self._model, self._data = model, None
        self._watch, self._epoch, self._step = watch, epoch, step

    def _get(self) -> dict[str, float]:
        if self._data is None:
            self._data = self._model._logs()
            if self._watch is not None:   # the loss is read now anyway: check it for NaN
                self._watch.see(self._data["loss"], self._epoch, self._step)
        return self._data

    def __getitem__(self, key: str) -> float:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class TrainerMixin(DataMixin):
    """The loops. Relies on the Model's ``_train_step``/``_test_step``/``_forward``."""

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: list[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: Any = True,
            class_weight: Any = None, sample_weight: Any = None, initial_epoch: int = 0,
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1,
            **kwargs: Any) -> History:
        """Train for ``epochs`` epochs of batches; returns a History of the epoch logs."""
        if "nb_epoch" in kwargs:
            warnings.warn("fit: `nb_epoch` is Keras 1 spelling; use `epochs`.",
                          DeprecationWarning, stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(kwargs)}.")
        self._require_compiled()
        python = is_python_batches(x)
        if x is None or (y is None and not python):
            raise ValueError("fit() needs both `x` and `y` arrays; received "
                             f"x={'None' if x is None else 'an array'}, "
                             f"y={'None' if y is None else 'an array'}.")
        # Every check before the first step: a call that fails changes nothing.
        for arg, value in (("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch),
                           ("validation_steps", validation_steps),
                           ("validation_batch_size", validation_batch_size),
                           ("validation_freq", validation_freq)):
            validation.check_positive_int(value, arg, "fit()")
        validation.check_fraction(validation_split, "validation_split", "fit()")
        validation.check_epochs(epochs, initial_epoch)
        cbs = validation.check_callbacks(callbacks, Callback)
        if python and validation_split:
            raise ValueError("Argument `validation_split` is only supported for tensors or "
                             f"NumPy arrays. Found incompatible type in the input: {type(x)}")
        if class_weight is not None and not python:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            if isinstance(y, list | tuple | Mapping):
                raise ValueError("`class_weight` is only supported for Models with a single "
                                 "output.")
            sample_weight = self._class_sample_weights(y, class_weight)
        batch_size = batch_size or 32
        if python:
            source: Any = python_batches(self, x, y, sample_weight, steps_per_epoch, "fit()",
                                            shuffle=shuffle, class_weight=class_weight)
        else:
            xs, ys, sw, n = self._prepare(x, y, sample_weight)
        val: Any = None
        if is_python_batches(validation_data):
            val = python_batches(self, validation_data, None, None, validation_steps,
                                 "fit() validation_data")
        elif validation_data is not None:
            validation.check_validation_data(validation_data)
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) > 2 else None
            val = self._prepare(vx, vy, vsw, "fit() validation_data")
        elif validation_split:
            split = int(n * (1 - validation_split))
            if split == 0 or split == n:
                raise ValueError(
                    f"fit(): validation_split={validation_split} of {n} sample(s) leaves "
                    f"{split} for training and {n - split} for validation; expected at least "
                    "1 in each. Use more data or another validation_split.")
            # Keras weighs only the training part by class_weight, not the validation loss.
            val = ([a[split:] for a in xs], [a[split:] for a in ys],
                   None if sw is None or class_weight is not None else sw[split:], n - split)
            xs, ys = [a[:split] for a in xs], [a[:split] for a in ys]
            sw = None if sw is None else sw[:split]
            n = split
        if not python:
            source = ArrayBatches(xs, ys, sw, n, batch_size, shuffle is True or shuffle == "true")
        if isinstance(val, tuple):
            val = ArrayBatches(*val[:4], validation_batch_size or batch_size)
        steps = source.steps
        verbose = validation.check_verbose(verbose)
        history = History()
        watch = validation.NanLossWatch()
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        cbs.append(history)
        cb = CallbackList(cbs, self, {"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        cb.call("on_train_begin", {})
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb.call("on_epoch_begin", epoch, {})
            step = -1
            for step, (bx, by, bw) in enumerate(source.epoch()):
                cb.call("on_train_batch_begin", step, {})
                self._train_step(bx, by, bw)
                cb.call("on_train_batch_end", step, _LazyLogs(self, watch, epoch + 1, step))
                if self.stop_training:
                    break
            source.end_epoch()
            if source.ran_out:   # the next epoch would have no batch: stop here (Keras)
                warnings.warn(RAN_OUT, stacklevel=2)
                self.stop_training = True
                if step < 0:
                    break
            logs = self._logs()
            watch.see(logs["loss"], epoch + 1, step)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._run_test(val, None, cb)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
            cb.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        if epochs > 0:   # use_ema: the weights become their moving averages (as Keras)
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cb.call("on_train_end", logs)
        self.history = history
        history.params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        history.model = self
        return history

    def _class_sample_weights(self, y: Any, class_weight: Any) -> np.ndarray:
        """fit/train_on_batch(class_weight=...): one weight per sample, from its class."""
        y = validation.as_array(y, "y", "class_weight")   # checked before its classes are read
        if getattr(self._losses[0], "_sparse", False) and np.ndim(y) > 1 and \
                np.shape(y)[-1] != 1:
            raise ValueError("`class_weight` needs one class per sample (targets of shape (N,), "
                             "(N, 1) or one-hot (N, classes)); received integer labels of shape "
                             f"{np.shape(y)}.")
        return class_weight_to_sample_weights(y, class_weight)

    # ------------------------------------------------------------------ evaluate / predict
    def _run_test(self, source: Any, bar: Progbar | None, cb: CallbackList) -> dict[str, float]:
        """The loss and metrics over the batches, Keras' test hooks of ``cb`` around them
        (``fit``'s validation calls its own callbacks', ``evaluate`` the ones it is given). A
        callback can end it early with ``model.stop_evaluating = True``, as in Keras."""
        self.reset_metrics()
        self._release_caches()
        self.stop_evaluating = False
        cb.call("on_test_begin", {})
        for step, (bx, by, bw) in enumerate(source.epoch()):
            cb.call("on_test_batch_begin", step, {})
            self._test_step(bx, by, bw)
            self._release_caches()
            cb.call("on_test_batch_end", step, _LazyLogs(self))
            if bar is not None:
                bar.update(step + 1, _LazyLogs(self),
                           finalize=False)
            if self.stop_evaluating:
                break
        source.end_epoch()
        if source.ran_out:
            warnings.warn(RAN_OUT, stacklevel=3)
        logs = self._logs()
        cb.call("on_test_end", logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss (and metrics) over all of x, the per-sample mean (batches weighted by size)."""
        if kwargs:
            raise ValueError(f"evaluate() got unexpected keyword arguments {sorted(kwargs)}.")
        self._require_compiled()
        validation.check_positive_int(batch_size, "batch_size", "evaluate()")
        validation.check_positive_int(steps, "steps", "evaluate()")
        if is_python_batches(x):
            source: Any = python_batches(self, x, y, sample_weight, steps, "evaluate()")
        elif y is None:
            raise ValueError("evaluate(): `y` is None; expected the target array(s).")
        else:
            source = ArrayBatches(*self._prepare(x, y, sample_weight, "evaluate()"),
                                  batch_size or 32)
        verbose = validation.check_verbose(verbose)
        cbs = validation.check_callbacks(callbacks, Callback)
        bar = Progbar(source.steps, verbose=verbose) if verbose else None
        cb = CallbackList(cbs, self, {"verbose": verbose, "epochs": 1, "steps": source.steps})
        logs = self._run_test(source, bar, cb)
        if bar is not None:   # an unknown length is known now: the bar ends at its count
            bar.target = bar.target or source.seen
            bar.update(bar.target, list(logs.items()), finalize=True)
        return self._format_result(logs, return_dict)

    def _format_result(self, logs: dict[str, float], return_dict: bool) -> Any:
        if return_dict:
            return logs
        ordered = [logs["loss"]] + [logs[m.name] for g in self._metrics or [] for m in g]
        return ordered[0] if len(ordered) == 1 else ordered

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> Any:
        """Outputs for all of x, batch by batch (training=False), as NumPy arrays."""
        validation.check_positive_int(batch_size, "batch_size", "predict()")
        validation.check_positive_int(steps, "steps", "predict()")
        cbs = validation.check_callbacks(callbacks, Callback)
        if is_python_batches(x):
            source: Any = python_batches(self, x, None, None, steps, "predict()", targets=False)
        else:
            xs = self._standardize_x(x, "predict()")
            validation.check_samples(len(xs[0]), "x", "predict()")
            self._ensure_built([backend.to_device(a[:1]) for a in xs])
            source = ArrayBatches(xs, None, None, len(xs[0]), batch_size or 32)
        verbose = validation.check_verbose(verbose)
        steps_total = source.steps
        bar = Progbar(steps_total, verbose=verbose) if verbose else None
        # Keras' predict hooks; a callback can end it early with model.stop_predicting = True
        cb = CallbackList(cbs, self, {"verbose": verbose, "epochs": 1, "steps": steps_total})
        chunks: list[list[np.ndarray]] = []
        self._release_caches()
        self.stop_predicting = False
        rows = 0
        cb.call("on_predict_begin", {})
        for step, (bx, _, _) in enumerate(source.epoch()):
            cb.call("on_predict_batch_begin", step, {})
            self._ensure_built(bx)
            first, size = len(chunks), len(bx[0])
            rows = rows or self._inference_slice(size)   # from the first (full) batch
            for i in range(0, size, rows):  # one slice unless patches are large
                outs = self._forward([a[i:i + rows] for a in bx], training=False)
                chunks.append([backend.to_numpy(o) for o in outs])
                self._release_caches()
            if cb.callbacks:   # the batch's outputs, its slices joined (as Keras gives them)
                batch_outs = [np.concatenate([c[i] for c in chunks[first:]])
                              for i in range(len(chunks[first]))]
                cb.call("on_predict_batch_end", step, {
                    "outputs": batch_outs[0] if len(batch_outs) == 1 else batch_outs})
            if bar is not None:
                bar.update(step + 1, finalize=step + 1 == steps_total or self.stop_predicting)
            if self.stop_predicting:
                break
        source.end_epoch()
        if source.ran_out:
            warnings.warn(RAN_OUT, stacklevel=2)
        if bar is not None and steps_total is None and chunks:   # end the unknown-length bar
            bar.target = source.seen
            bar.update(source.seen, finalize=True)
        cb.call("on_predict_end", {})
        if not chunks:
            raise ValueError("predict() received no data (x has 0 samples).")
        result = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
        return result[0] if len(result) == 1 else result

    #: predict runs a batch in slices whose largest im2col patch matrix stays under this size
    INFERENCE_PATCH_BYTES = 48 * 2**20

    def _inference_slice(self, batch_size: int) -> int:
        """Rows per forward call in ``predict``: the batch, or fewer equal slices when a
        layer's ``forward_bytes_per_sample()`` (Conv2D: its im2col patch rows) times the
        batch would exceed ``INFERENCE_PATCH_BYTES`` (rows are independent at inference, so
        the outputs are the same). Stateful models keep whole batches: each row of a batch
        is a stream with its own state."""
        layers, patch = list(getattr(self, "layers", [])), 0
        while layers:
            layer = layers.pop()
            if getattr(layer, "stateful", False):
                return batch_size
            inner = getattr(layer, "layer", None)  # a wrapper's layer (TimeDistributed)
            layers += list(getattr(layer, "layers", [])) + ([inner] if inner is not None else [])
            patch = max(patch, getattr(layer, "forward_bytes_per_sample", lambda: 0)())
        if patch == 0:
            return batch_size
        slices = -(-batch_size * patch // self.INFERENCE_PATCH_BYTES)  # ceil: equal slices
        return -(-batch_size // slices)

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Keras 1/2 (removed in Keras 3): class indices, argmax or (p > 0.5) for one unit."""
        warnings.warn("predict_classes() is Keras 1/2 API; use np.argmax(model.predict(x), "
                      "axis=-1) (or (model.predict(x) > 0.5).astype('int32') for a sigmoid "
                      "output).", DeprecationWarning, stacklevel=2)
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Keras 1/2 (removed in Keras 3): the same as ``predict``."""
        warnings.warn("predict_proba() is Keras 1/2 API; use model.predict(x).",
                      DeprecationWarning, stacklevel=2)
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    # ------------------------------------------------------------------ one batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Any = None, return_dict: bool = False) -> Any:
        """One step on one batch; returns this batch's loss (pre-update weights)."""
        self._require_compiled()
        if y is None:
            raise ValueError("train_on_batch(): `y` is None; expected the target array(s).")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("Arguments `sample_weight` and `class_weight` cannot be "
                                 f"specified at the same time. Received: sample_weight="
                                 f"{sample_weight}, class_weight={class_weight}")
            sample_weight = self._class_sample_weights(y, class_weight)
        xs, ys, sw, _ = self._prepare(x, y, sample_weight, "train_on_batch()")
        self.reset_metrics()
        self._train_step([backend.to_device(a) for a in xs], [backend.to_device(a) for a in ys],
                         None if sw is None else backend.to_device(sw))
        return self._format_result(self._logs(), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        self._require_compiled()
        if y is None:
            raise ValueError("test_on_batch(): `y` is None; expected the target array(s).")
        xs, ys, sw, _ = self._prepare(x, y, sample_weight, "test_on_batch()")
        self.reset_metrics()
        self._test_step([backend.to_device(a) for a in xs], [backend.to_device(a) for a in ys],
                        None if sw is None else backend.to_device(sw))
        return self._format_result(self._logs(), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        xs = self._standardize_x(x, "predict_on_batch()")
        validation.check_samples(len(xs[0]), "x", "predict_on_batch()")
        xs = [backend.to_device(a) for a in xs]
        self._ensure_built(xs)
        outs = [backend.to_numpy(o) for o in self._forward(xs, training=False)]
        return outs[0] if len(outs) == 1 else outs

"""fit / evaluate / predict and the *_on_batch calls: batching, validation, progress.

Data arrive as NumPy arrays (or lists/dicts of them for several inputs/outputs). Floats are
cast to floatx on the host (Keras casts float64 to float32), batches are cut in order (or in
a fresh permutation per epoch with ``shuffle=True``) and moved to the device one at a time.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from minikeras import backend
from minikeras.callbacks import Callback, CallbackList, History, ProgbarLogger
from minikeras.utils.progbar import Progbar


def _host_or_device(a: Any) -> Any:
    """NumPy data stays NumPy (moved batch by batch later); a CuPy array passed in by the
    user stays on the device (``np.asarray`` would refuse it: no implicit device->host copy)."""
    return a if hasattr(a, "__cuda_array_interface__") else np.asarray(a)


class _LazyLogs(Mapping):
    """Batch logs read from the device only if some callback actually looks at them."""

    def __init__(self, model: Any) -> None:
        self._model, self._data = model, None

    def _get(self) -> dict[str, float]:
        if self._data is None:
            self._data = self._model._logs()
        return self._data

    def __getitem__(self, key: str) -> float:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class TrainerMixin:
    """The loops. Relies on the Model's ``_train_step``/``_test_step``/``_forward``."""

    # ------------------------------------------------------------------ data handling
    def _x_list(self, x: Any) -> list[Any]:
        if isinstance(x, Mapping):
            names = self._input_names()
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"Missing data for input(s) {missing}; got keys {sorted(x)}.")
            return [x[n] for n in names]
        return list(x) if isinstance(x, list | tuple) else [x]

    def _y_list(self, y: Any) -> list[Any]:
        if isinstance(y, Mapping):
            return [y[n] for n in self.output_names]
        return list(y) if isinstance(y, list | tuple) and len(self.output_names) > 1 else [y]

    def _input_names(self) -> list[str]:
        """Names for dict inputs; a Sequential has one input (Functional overrides this)."""
        return ["input_0"]

    @staticmethod
    def _cast_x(a: Any) -> np.ndarray:
        from minikeras.models import graph

        if graph.is_symbolic(a):
            raise TypeError(
                "A symbolic tensor (from `Input`) was passed where data is expected. Pass NumPy "
                "arrays to fit/evaluate/predict."
            )
        a = _host_or_device(a)
        if a.dtype.kind in "fiub" and a.dtype != np.dtype(backend.floatx()):
            a = a.astype(backend.floatx())
        return a

    def _cast_y(self, y: Any, i: int) -> np.ndarray:
        y = _host_or_device(y)
        sparse = getattr(self._losses[i], "_sparse", False)
        if y.dtype.kind == "f" and y.dtype != np.dtype(backend.floatx()):
            y = y.astype(backend.floatx())
        elif y.dtype.kind in "iub" and not sparse:
            y = y.astype(backend.floatx())
        return y

    def _prepare(self, x: Any, y: Any = None, sample_weight: Any = None) -> tuple:
        xs = [self._cast_x(a) for a in self._x_list(x)]
        n = len(xs[0])
        sizes = {"x": [len(a) for a in xs]}
        ys = None
        if y is not None:
            ys = [self._cast_y(a, i) for i, a in enumerate(self._y_list(y))]
            sizes["y"] = [len(a) for a in ys]
        if sample_weight is not None:
            sample_weight = _host_or_device(sample_weight).astype(backend.floatx())
            sizes["sample_weight"] = [len(sample_weight)]
        if len({s for v in sizes.values() for s in v}) > 1:
            detail = " ".join(f"{k} sizes: {', '.join(map(str, v))}" for k, v in sizes.items())
            raise ValueError(f"Data cardinality is ambiguous: {detail}. Make sure all arrays "
                             "contain the same number of samples.")
        if ys is not None:
            self._ensure_built([backend.to_device(a[:1]) for a in xs])
            ys = [self._match_target(y_, i) for i, y_ in enumerate(ys)]
        return xs, ys, sample_weight, n

    def _match_target(self, y: np.ndarray, i: int) -> np.ndarray:
        """Give targets the rank of the output (Keras expands (N,) to (N, 1)); check labels."""
        out_shape = self._output_shapes()[i]
        loss = self._losses[i]
        if getattr(loss, "_sparse", False):
            classes = out_shape[-1]
            if y.size and (y.min() < 0 or (classes is not None and y.max() >= classes)):
                bad = y.min() if y.min() < 0 else y.max()
                raise ValueError(f"Received a label value of {bad} which is outside the valid "
                                 f"range of [0, {classes - 1}] for output '{self.output_names[i]}'"
                                 f" with {classes} classes.")
            return y
        if y.ndim == len(out_shape) - 1 and out_shape[-1] == 1:
            y = y[..., None]
        if y.ndim != len(out_shape) or any(
                a is not None and a != b for a, b in zip(out_shape[1:], y.shape[1:], strict=True)):
            raise ValueError(
                f"Target shape {y.shape} does not match the output of the model "
                f"'{self.output_names[i]}', which has shape {tuple(out_shape)}."
            )
        return y

    def _batches(self, n: int, batch_size: int, order: np.ndarray | None = None) -> list:
        idx = np.arange(n) if order is None else order
        return [idx[i:i + batch_size] for i in range(0, n, batch_size)]

    @staticmethod
    def _take(arrays: list[np.ndarray], idx: np.ndarray, ordered: bool) -> list[Any]:
        # Contiguous slices are views (no copy on the CPU); shuffled batches need a gather.
        if ordered and len(idx):
            sl = slice(int(idx[0]), int(idx[-1]) + 1)
            return [backend.to_device(a[sl]) for a in arrays]
        return [backend.to_device(a[idx]) for a in arrays]

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
        if class_weight is not None:
            raise NotImplementedError("class_weight is not supported by minikeras yet.")
        if x is None or y is None:
            raise ValueError("fit() needs both `x` and `y` arrays.")
        batch_size = batch_size or 32
        xs, ys, sw, n = self._prepare(x, y, sample_weight)
        val = None
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) > 2 else None
            val = self._prepare(vx, vy, vsw)
        elif validation_split:
            split = int(n * (1 - validation_split))
            val = ([a[split:] for a in xs], [a[split:] for a in ys],
                   None if sw is None else sw[split:], n - split)
            xs, ys = [a[:split] for a in xs], [a[:split] for a in ys]
            sw = None if sw is None else sw[:split]
            n = split
        steps = -(-n // batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        history = History()
        cbs = list(callbacks or [])
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
            order = self._epoch_order(n, shuffle)
            for step, idx in enumerate(self._batches(n, batch_size, order)):
                cb.call("on_train_batch_begin", step, {})
                bx = self._take(xs, idx, order is None)
                by = self._take(ys, idx, order is None)
                bw = None if sw is None else backend.to_device(sw[idx])
                self._train_step(bx, by, bw)
                cb.call("on_train_batch_end", step, _LazyLogs(self))
                if self.stop_training:
                    break
            logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._run_test(*val[:3], val[3],
                                          validation_batch_size or batch_size, None)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
            cb.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        cb.call("on_train_end", logs)
        self.history = history
        history.params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        history.model = self
        return history

    def _epoch_order(self, n: int, shuffle: Any) -> np.ndarray | None:
        if shuffle is True or shuffle == "true":
            return backend.rng().permutation(n)
        return None

    # ------------------------------------------------------------------ evaluate / predict
    def _run_test(self, xs: list, ys: list, sw: Any, n: int, batch_size: int,
                  bar: Progbar | None) -> dict[str, float]:
        self.reset_metrics()
        self._release_caches()
        for step, idx in enumerate(self._batches(n, batch_size)):
            bw = None if sw is None else backend.to_device(sw[idx])
            self._test_step(self._take(xs, idx, True), self._take(ys, idx, True), bw)
            self._release_caches()
            if bar is not None:
                bar.update(step + 1, _LazyLogs(self),
                           finalize=False)
        return self._logs()

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss (and metrics) over all of x, the per-sample mean (batches weighted by size)."""
        if kwargs:
            raise ValueError(f"evaluate() got unexpected keyword arguments {sorted(kwargs)}.")
        self._require_compiled()
        xs, ys, sw, n = self._prepare(x, y, sample_weight)
        batch_size = batch_size or 32
        verbose = 1 if verbose == "auto" else int(verbose)
        bar = Progbar(-(-n // batch_size), verbose=verbose) if verbose else None
        logs = self._run_test(xs, ys, sw, n, batch_size, bar)
        if bar is not None:
            bar.update(-(-n // batch_size), list(logs.items()), finalize=True)
        return self._format_result(logs, return_dict)

    def _format_result(self, logs: dict[str, float], return_dict: bool) -> Any:
        if return_dict:
            return logs
        ordered = [logs["loss"]] + [logs[m.name] for g in self._metrics or [] for m in g]
        return ordered[0] if len(ordered) == 1 else ordered

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> Any:
        """Outputs for all of x, batch by batch (training=False), as NumPy arrays."""
        xs = [self._cast_x(a) for a in self._x_list(x)]
        n = len(xs[0])
        batch_size = batch_size or 32
        self._ensure_built([backend.to_device(a[:1]) for a in xs])
        verbose = 1 if verbose == "auto" else int(verbose)
        steps_total = -(-n // batch_size)
        bar = Progbar(steps_total, verbose=verbose) if verbose else None
        chunks: list[list[np.ndarray]] = []
        self._release_caches()
        rows = self._inference_slice(batch_size)
        for step, idx in enumerate(self._batches(n, batch_size)):
            for part in self._batches(len(idx), rows):  # one slice unless patches are large
                outs = self._forward(self._take(xs, idx[part], True), training=False)
                chunks.append([backend.to_numpy(o) for o in outs])
                self._release_caches()
            if bar is not None:
                bar.update(step + 1, finalize=step + 1 == steps_total)
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
        xs, ys, sw, _ = self._prepare(x, y, sample_weight)
        self.reset_metrics()
        self._train_step([backend.to_device(a) for a in xs], [backend.to_device(a) for a in ys],
                         None if sw is None else backend.to_device(sw))
        return self._format_result(self._logs(), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        self._require_compiled()
        xs, ys, sw, _ = self._prepare(x, y, sample_weight)
        self.reset_metrics()
        self._test_step([backend.to_device(a) for a in xs], [backend.to_device(a) for a in ys],
                        None if sw is None else backend.to_device(sw))
        return self._format_result(self._logs(), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        xs = [backend.to_device(self._cast_x(a)) for a in self._x_list(x)]
        self._ensure_built(xs)
        outs = [backend.to_numpy(o) for o in self._forward(xs, training=False)]
        return outs[0] if len(outs) == 1 else outs

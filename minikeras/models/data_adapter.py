"""Data at the door of fit / evaluate / predict / *_on_batch / ``model(x)``.

What a user passes becomes one float array per model input (and per output), checked by
``minikeras.utils.validation`` before any step runs, so that a bad call changes nothing:

- ``x``: one array, a list of arrays (several inputs, as in Keras), a dict by input name, or
  a nested list of numbers (one array); floats and ints are cast to floatx on the host
  (Keras casts float64 to float32); a CuPy array stays on the device;
- the rank is adjusted as Keras 3 does (a missing or extra trailing axis of size 1), else a
  clear error names the input, the expected and the received shape;
- ``y`` gets the output's rank (Keras expands (N,) to (N, 1)); sparse labels are checked
  against the number of classes; NaN/inf anywhere are counted in a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from minikeras import backend, graph
from minikeras.utils import validation


def _is_nested_numbers(x: list | tuple) -> bool:
    """A (nested) list of plain numbers, i.e. one array written as a list (not several)."""
    return all(isinstance(v, int | float | bool | np.number)
               or (isinstance(v, list | tuple) and _is_nested_numbers(v)) for v in x) and (
        len(x) > 0)


class DataMixin:
    """Turns user data into checked arrays; mixed into Model through TrainerMixin."""

    def _x_list(self, x: Any) -> list[Any]:
        """One entry per model input: a dict by input name, a list of arrays (several
        inputs, as in Keras), or one array; a nested list of numbers is one array."""
        if isinstance(x, Mapping):
            names = self._input_names()
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"Missing data for input(s) {missing}; got keys {sorted(x)}.")
            return [x[n] for n in names]
        if isinstance(x, list | tuple) and not _is_nested_numbers(x):
            return list(x)
        return [x]

    def _y_list(self, y: Any) -> list[Any]:
        if isinstance(y, Mapping):
            missing = [n for n in self.output_names if n not in y]
            if missing:
                raise ValueError(f"Missing targets for output(s) {missing}; got keys "
                                 f"{sorted(y)} (expected the model's outputs "
                                 f"{self.output_names}).")
            return [y[n] for n in self.output_names]
        if isinstance(y, list | tuple) and len(self.output_names) > 1 and not \
                _is_nested_numbers(y):
            return list(y)
        return [y]

    def _input_names(self) -> list[str]:
        """Names for dict inputs; a Sequential has one input (Functional overrides this)."""
        return ["input_0"]

    def _expected_input_shapes(self) -> list[tuple] | None:
        """The model inputs' shapes (batch axis first), or None while still unknown."""
        return None

    @staticmethod
    def _cast_x(a: Any, arg: str = "x", where: str = "fit()") -> np.ndarray:
        if graph.is_symbolic(a):
            raise TypeError(
                f"{where}: a symbolic tensor (from `Input`) was passed as `{arg}`, where data "
                "is expected. Pass NumPy arrays to fit/evaluate/predict."
            )
        a = validation.as_array(a, arg, where)
        validation.check_rank(a, arg, where)
        if a.dtype.kind in "fiub" and a.dtype != np.dtype(backend.floatx()):
            a = a.astype(backend.floatx())
        return a

    def _standardize_x(self, x: Any, where: str) -> list[Any]:
        """x as one float array per model input, rank adjusted as Keras 3 does, checked."""
        if x is None:
            raise ValueError(f"{where}: `x` is None; expected an array (or a list/dict of "
                             "arrays, one per model input).")
        raw = self._x_list(x)
        names = self._input_names()
        if len(raw) != len(names):
            raise ValueError(f"{where}: the model expects {len(names)} input(s) {names}, but "
                             f"`x` holds {len(raw)} array(s).")
        expected = self._expected_input_shapes()
        xs = []
        for i, a in enumerate(raw):
            arg = "x" if len(raw) == 1 else f"x[{i}] ({names[i]})"
            a = self._cast_x(a, arg, where)
            if expected is not None:
                a = validation.adjust_rank(a, expected[i], names[i], where)
            validation.warn_non_finite(a, arg, where)
            xs.append(a)
        return xs

    def _cast_y(self, y: Any, i: int, where: str = "fit()") -> np.ndarray:
        arg = "y" if len(self.output_names) <= 1 else f"y[{i}] ({self.output_names[i]})"
        y = validation.as_array(y, arg, where)
        validation.check_rank(y, arg, where)
        validation.warn_non_finite(y, arg, where)
        sparse = getattr(self._losses[i], "_sparse", False)
        if sparse:
            validation.check_sparse_labels(y, arg, where)
        if y.dtype.kind == "f" and y.dtype != np.dtype(backend.floatx()):
            y = y.astype(backend.floatx())
        elif y.dtype.kind in "iub" and not sparse:
            y = y.astype(backend.floatx())
        return y

    def _prepare(self, x: Any, y: Any = None, sample_weight: Any = None,
                 where: str = "fit()") -> tuple:
        xs = self._standardize_x(x, where)
        n = len(xs[0])
        validation.check_samples(n, "x", where)
        sizes = {"x": [len(a) for a in xs]}
        ys = None
        if y is not None:
            raw_y = self._y_list(y)
            if len(raw_y) != max(len(self.output_names), 1):
                raise ValueError(f"{where}: the model has {len(self.output_names)} output(s) "
                                 f"{self.output_names}, but `y` holds {len(raw_y)} array(s).")
            ys = [self._cast_y(a, i, where) for i, a in enumerate(raw_y)]
            sizes["y"] = [len(a) for a in ys]
        if sample_weight is not None:
            self._refuse_per_output_weights(sample_weight, where)
            sample_weight = validation.as_array(sample_weight, "sample_weight", where)
            validation.check_rank(sample_weight, "sample_weight", where)
            validation.warn_non_finite(sample_weight, "sample_weight", where)
            sample_weight = sample_weight.astype(backend.floatx())
            sizes["sample_weight"] = [len(sample_weight)]
        if len({s for v in sizes.values() for s in v}) > 1:
            detail = " ".join(f"{k} sizes: {', '.join(map(str, v))}" for k, v in sizes.items())
            raise ValueError(f"{where}: Data cardinality is ambiguous: {detail}. Make sure all "
                             "arrays contain the same number of samples.")
        if ys is not None:
            try:   # the data's shape walked through the layers: a mismatch fails here
                self._ensure_built([backend.to_device(a[:1]) for a in xs])
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            ys = [self._match_target(y_, i) for i, y_ in enumerate(ys)]
            if sample_weight is not None:
                for i, y_ in enumerate(ys):
                    sparse = getattr(self._losses[i], "_sparse", False)
                    sample_weight = validation.check_sample_weight_shape(
                        sample_weight, y_.shape, sparse, where)
        return xs, ys, sample_weight, n

    def _refuse_per_output_weights(self, sample_weight: Any, where: str) -> None:
        """Keras also takes one weight array per output (a list, or a dict by output name);
        minikeras weights every output's loss by the same ``(N,)`` array, so say that here
        rather than a shape error about "2 samples" for a list of two arrays."""
        several = len(self.output_names) > 1 and (
            isinstance(sample_weight, Mapping) or (
                isinstance(sample_weight, list | tuple)
                and not _is_nested_numbers(sample_weight)))
        if several:
            raise NotImplementedError(
                f"{where}: `sample_weight` with one array per output (a list or dict for the "
                f"outputs {self.output_names}) is not supported by minikeras yet; pass one "
                "array of shape (N,), which weights the loss of every output.")

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


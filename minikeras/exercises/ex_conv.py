"""Exercises ``im2col``, ``conv2d`` and ``max_pooling`` (docs/inside.md, stops 8 and 9).

Truths written out here with plain loops, independent of minikeras' own vectorised code:
``windows_of`` (what im2col must return) and ``route_max`` (where max pooling sends each
output's gradient, under a rule for ties: Keras' "first maximum", or the typical slips).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.base import Exercise, FailedStageError, Options, check_array, learner
from minikeras.exercises.layer_grader import Case, Config, LayerExercise
from minikeras.exercises.skeletons_conv import CONV2D, IM2COL, MAX_POOLING
from minikeras.layers import im2col as ic


def windows_of(xpad: np.ndarray, kernel: tuple, out_hw: tuple, strides: tuple,
               dilation: tuple, order: str = "kkc") -> np.ndarray:
    """im2col by loops: row (n, y, x), columns (ky, kx, c) (``order="ckk"``: (c, ky, kx))."""
    n, _, _, c = xpad.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = kernel, out_hw, strides, dilation
    out = np.empty((n, oh, ow, kh, kw, c), xpad.dtype)
    for y in range(oh):
        for x in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    out[:, y, x, ky, kx, :] = xpad[:, y * sh + ky * dh, x * sw + kx * dw, :]
    if order == "ckk":
        out = out.transpose(0, 1, 2, 5, 3, 4)
    return out.reshape(n * oh * ow, kh * kw * c)


def route_max(x: np.ndarray, dy: np.ndarray, pool: tuple, strides: tuple, padding: str,
              rule: str = "first") -> np.ndarray:
    """MaxPooling2D's dL/dx by loops; ``rule`` for tied maxima: first, last, split, all."""
    pads = ic.padding_amounts(x.shape[1:3], pool, strides, (1, 1), padding)
    xpad = ic.to_padded_nhwc(x, pads, False, float("-inf"))
    dxpad = np.zeros_like(xpad)
    n, oh, ow, c = dy.shape
    for b in range(n):
        for y in range(oh):
            for xx in range(ow):
                for ch in range(c):
                    win = xpad[b, y * strides[0]:y * strides[0] + pool[0],
                               xx * strides[1]:xx * strides[1] + pool[1], ch]
                    hits = np.argwhere(win == win.max())
                    chosen = {"first": hits[:1], "last": hits[-1:]}.get(rule, hits)
                    share = dy[b, y, xx, ch] / (len(hits) if rule == "split" else 1)
                    for ky, kx in chosen:
                        dxpad[b, y * strides[0] + ky, xx * strides[1] + kx, ch] += share
    (top, bottom), (left, right) = pads
    return dxpad[:, top:dxpad.shape[1] - bottom, left:dxpad.shape[2] - right, :]


def _border(shape: tuple, width: int) -> np.ndarray:
    _, h, w, _ = shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    ring = (rows < width) | (rows >= h - width) | (cols < width) | (cols >= w - width)
    return np.broadcast_to(ring[None, :, :, None], shape)


# --------------------------------------------------------------------------- im2col
class Im2colExercise(Exercise):
    name = "im2col"
    title = "im2col"
    difficulty = 2
    teaches = "a convolution as one matrix product: every window becomes a row"
    stop = "8. Convolution as one matrix product (im2col)"
    symbol = "im2col"
    subject = "function"
    stage_titles = ("shapes and dtypes", "float64 check by loops", "parity with real Keras",
                    "tutorial model")
    CONFIGS = (((2, 5, 6, 2), (3, 3), (1, 1), (1, 1), "3x3, stride 1"),
               ((1, 7, 6, 3), (2, 3), (2, 1), (1, 1), "2x3, strides (2, 1)"),
               ((2, 7, 7, 1), (3, 2), (1, 1), (2, 2), "3x2, dilation 2"))

    def skeleton(self) -> str:
        return IM2COL

    def reference(self) -> Any:
        return ic.im2col

    def _case(self, cfg: tuple, dtype: Any) -> tuple:
        shape, kernel, strides, dilation, note = cfg
        rng = np.random.default_rng(sum(shape))
        xpad = rng.standard_normal(shape).astype(dtype)
        out_hw = tuple(ic.output_length(n, k, s, d, "valid") for n, k, s, d in
                       zip(shape[1:3], kernel, strides, dilation, strict=True))
        return xpad, kernel, out_hw, strides, dilation, note

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        xpad, kernel, out_hw, strides, dilation, _ = self._case(self.CONFIGS[0], np.float32)
        cols = learner("im2col", piece, xpad, kernel, out_hw, strides, dilation)
        n, c = xpad.shape[0], xpad.shape[3]
        shape = (n * out_hw[0] * out_hw[1], kernel[0] * kernel[1] * c)
        check_array("im2col(...)", cols, shape, np.float32)
        return [f"cols {shape} float32"]

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        lines = []
        for cfg in self.CONFIGS:
            xpad, kernel, out_hw, strides, dilation, note = self._case(cfg, np.float64)
            got = learner("im2col", piece, xpad, kernel, out_hw, strides, dilation)
            truth = windows_of(xpad, kernel, out_hw, strides, dilation)
            kh, kw = kernel
            c = xpad.shape[3]
            first_tap = np.zeros(truth.shape, bool)
            first_tap[:, :c] = True
            looks = [diagnose.Lookalike(windows_of(xpad, kernel, out_hw, strides, dilation,
                                                   "ckk"),
                                        "the columns are in (c, ky, kx) order; the kernel "
                                        "reshapes to (ky, kx, c) order (c fastest).")]
            if dilation != (1, 1):
                looks.append(diagnose.Lookalike(
                    windows_of(xpad, kernel, out_hw, strides, (1, 1)),
                    "the dilation was ignored: a kernel step moves `dilation` cells "
                    "(xpad[n, y·sh + ky·dh, x·sw + kx·dw, c])."))
            if strides != (1, 1):
                looks.append(diagnose.Lookalike(
                    windows_of(xpad, kernel, out_hw, (1, 1), dilation),
                    "the stride was ignored: output (y, x) starts at cell (y·sh, x·sw)."))
            message = diagnose.explain(
                "cols", got, truth, lookalikes=looks,
                regions=[diagnose.Region("in the columns of the first tap (0, 0)", first_tap),
                         diagnose.Region("in the columns of the other taps", ~first_tap,
                                         "check how far a kernel step moves: ky·dh, kx·dw")],
                hint="check cols[(n, y, x), (ky, kx, c)] = xpad[n, y·sh + ky·dh, "
                     "x·sw + kx·dw, c]")
            if message:
                raise FailedStageError(f"im2col: {message} [{note}]")
            lines.append(f"{note}: equal to the windows, taken by loops")
        return lines

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        from minikeras.layers import Conv2D

        keras = opts.keras
        rng = np.random.default_rng(5)
        x = rng.standard_normal((2, 7, 6, 2)).astype(np.float32)
        lines = []
        for kw in ({"filters": 3, "kernel_size": 3, "padding": "same"},
                   {"filters": 2, "kernel_size": 3, "dilation_rate": 2}):
            mine = Conv2D(**kw)
            mine.build_for(x.shape)
            weights = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                       for w in mine.get_weights()]
            mine.set_weights(weights)
            ref = mine.forward(x)
            with swapped(piece):
                got = learner("im2col (inside Conv2D.forward)", mine.forward, x)
            k = keras.layers.Conv2D(**kw)
            k.build(x.shape)
            k.set_weights(weights)
            truth = np.asarray(k(x), np.float64)
            limit = max(10 * diagnose.rel_error(np.asarray(ref, np.float64), truth), 1e-5)
            err = diagnose.rel_error(np.asarray(got, np.float64), truth)
            if err > limit:
                raise FailedStageError(f"Conv2D's output with your im2col differs from Keras' by "
                                       f"{err:.1e} (limit {limit:.1e}) [{kw}]")
            lines.append(f"Conv2D({kw}) output vs Keras (float32) {err:.1e}")
        return lines

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        with swapped(piece):
            ok, lines = learner("training the tutorial model", tutorial_models.judge, "cnn",
                                {}, opts.keras, opts.steps)
        if not ok:
            raise FailedStageError("the tutorial model drifted away: " + "; ".join(lines))
        return lines


@contextlib.contextmanager
def swapped(fn: Any) -> Iterator[None]:
    """Conv2D calls ``im2col`` through its module: put the learner's there, for a while."""
    saved = ic.im2col
    ic.im2col = fn
    try:
        yield
    finally:
        ic.im2col = saved


# --------------------------------------------------------------------------- Conv2D
def col2im_loops(dcols: np.ndarray, padded_shape: tuple, pads: tuple, kernel: tuple,
                 out_hw: tuple, strides: tuple, assign: bool = False) -> np.ndarray:
    """col2im by loops; ``assign=True`` writes ``=`` instead of ``+=`` (the overlap slip)."""
    n, hp, wp, c = padded_shape
    (oh, ow), (kh, kw), (sh, sw) = out_hw, kernel, strides
    g = dcols.reshape(n, oh, ow, kh, kw, c)
    dxpad = np.zeros(padded_shape, dtype=dcols.dtype)
    for y in range(oh):
        for x in range(ow):
            if assign:
                dxpad[:, y * sh:y * sh + kh, x * sw:x * sw + kw, :] = g[:, y, x]
            else:
                dxpad[:, y * sh:y * sh + kh, x * sw:x * sw + kw, :] += g[:, y, x]
    (top, bottom), (left, right) = pads
    return dxpad[:, top:hp - bottom, left:wp - right, :]


class Conv2dExercise(LayerExercise):
    name = "conv2d"
    title = "Conv2D backward (col2im)"
    difficulty = 3
    teaches = "the adjoint of im2col: patch gradients added back, padding cropped off"
    stop = "8. Convolution as one matrix product (im2col)"
    symbol = "MyConv2D"
    layer_name = "Conv2D"
    tutorial = "cnn"

    def skeleton(self) -> str:
        return CONV2D

    def configs(self) -> list[Config]:
        return [Config({"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
                       (2, 5, 6, 2), "3x3 same, relu", 1),
                Config({"filters": 2, "kernel_size": 4, "padding": "same"}, (2, 6, 5, 2),
                       "4x4 same: 1 padded row/column before, 2 after", 2),
                Config({"filters": 2, "kernel_size": 3, "strides": 2}, (2, 7, 7, 1),
                       "3x3 valid, stride 2", 3)]

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        pads = case.layer.cache[2]
        width = max(max(p) for p in pads)
        if what != "dL/dx" or width == 0:
            return []
        ring = _border(case.x.shape, width)
        px = "pixel" if width == 1 else "pixels"
        return [diagnose.Region(f"within {width} {px} of the border", ring,
                                "check the padding that col2im removes (top/left get "
                                "P // 2, bottom/right the rest)"),
                diagnose.Region("in the interior", ~ring)]

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        layer = case.layer
        cols, padded_shape, pads, out_hw, z, y = layer.cache
        f = layer.filters
        dy = case.G[0].reshape(-1, f)
        dz = layer._activation_backward(z, y, case.G[0]).reshape(-1, f)
        K = layer.kernel.value.reshape(-1, f)
        no_act = "the activation's derivative is missing: dz = dy ⊙ act'(z)."
        if what == "dL/dkernel":
            return [diagnose.Lookalike((cols.T @ dy).reshape(layer.kernel.shape), no_act)]
        if what == "dL/dbias":
            return [diagnose.Lookalike(dy.sum(0), no_act)]
        if what == "dL/dx":
            dcols = dz @ K.T
            args = (padded_shape, pads, layer.kernel_size, out_hw, layer.strides)
            (top, bottom), (left, right) = pads
            looks = [diagnose.Lookalike(
                col2im_loops(dcols, *args, assign=True),
                "col2im assigned (=) where windows overlap: a cell collects the gradient of "
                "every window it is in: add (+=).")]
            if (top, left) != (bottom, right):
                looks.append(diagnose.Lookalike(
                    col2im_loops(dcols, padded_shape, ((bottom, top), (right, left)),
                                 *args[2:]),
                    "the padding was cropped from the wrong side: 'same' pads P // 2 before "
                    "and the rest after (the extra row/column is at the bottom/right)."))
            return looks
        return []

    def hint(self, what: str) -> str:
        return {"dL/dx": "check dcols = dz·Kᵀ and col2im (add, then crop the padding)",
                "dL/dkernel": "check dK = colsᵀ·dz, reshaped to (kh, kw, C, F)",
                "dL/dbias": "check db = Σ_rows dz"}.get(what, "")


# --------------------------------------------------------------------------- MaxPooling2D
class MaxPoolingExercise(LayerExercise):
    name = "max_pooling"
    title = "MaxPooling2D backward"
    difficulty = 2
    teaches = "routing a gradient to the winner, and Keras' rule for ties: the first maximum"
    stop = "9. Max pooling"
    symbol = "MyMaxPooling2D"
    layer_name = "MaxPooling2D"
    tutorial = "cnn"

    def skeleton(self) -> str:
        return MAX_POOLING

    def configs(self) -> list[Config]:
        return [Config({"pool_size": 2}, (2, 4, 6, 2), "2x2, stride 2", 1),
                Config({"pool_size": 2, "padding": "same"}, (2, 5, 5, 1),
                       "2x2 same on 5x5: padded windows", 2),
                Config({"pool_size": 3, "strides": 2}, (1, 7, 7, 2),
                       "3x3, stride 2: overlapping windows", 3),
                Config({"pool_size": 2}, (2, 4, 4, 2), "2x2 with tied maxima", 4,
                       {"ties": True})]

    def keras_configs(self) -> list[Config]:
        return [self.configs()[0], self.configs()[3]]   # Keras' own rule for ties

    def make_input(self, config: Config, rng: np.random.Generator) -> Any:
        if config.extra.get("ties"):
            return rng.integers(0, 2, config.input_shape).astype(np.float64)
        return rng.standard_normal(config.input_shape)

    def _pool(self, cfg: Config) -> tuple:
        pool = (cfg.kwargs["pool_size"],) * 2
        strides = (cfg.kwargs.get("strides", cfg.kwargs["pool_size"]),) * 2
        return pool, strides, cfg.kwargs.get("padding", "valid")

    def input_truth(self, name: str, numeric: np.ndarray, config: Config, xs: list[Any],
                    G: list[Any]) -> np.ndarray:
        if not config.extra.get("ties"):
            return numeric   # no ties: the max is differentiable, finite differences hold
        return route_max(xs[0], G[0], *self._pool(config))

    def regions(self, what: str, case: Case) -> list[diagnose.Region]:
        if what != "dL/dx":
            return []
        pool, strides, padding = self._pool(case.config)
        x = case.x
        if case.config.extra.get("ties"):
            ones = np.ones(case.G[0].shape)
            win = np.zeros(x.shape, bool)   # every cell of a window with a tie
            n, oh, ow, c = case.G[0].shape
            counts = route_max(x, ones, pool, strides, padding, "all")
            for b in range(n):
                for y in range(oh):
                    for xx in range(ow):
                        for ch in range(c):
                            sl = (b, slice(y * strides[0], y * strides[0] + pool[0]),
                                  slice(xx * strides[1], xx * strides[1] + pool[1]), ch)
                            if counts[sl].sum() > 1:
                                win[sl] = True
            return [diagnose.Region("in windows with tied maxima", win,
                                    "Keras gives all of the gradient to the first maximum "
                                    "(row-major), none to the others"),
                    diagnose.Region("in windows with one maximum", ~win)]
        if strides[0] < pool[0]:
            shared = np.zeros(x.shape[1:3], bool)
            for r in range(x.shape[1]):
                for cc in range(x.shape[2]):
                    in_rows = sum(1 for y in range(case.G[0].shape[1])
                                  if y * strides[0] <= r < y * strides[0] + pool[0])
                    in_cols = sum(1 for xx in range(case.G[0].shape[2])
                                  if xx * strides[1] <= cc < xx * strides[1] + pool[1])
                    shared[r, cc] = in_rows * in_cols > 1
            mask = np.broadcast_to(shared[None, :, :, None], x.shape)
            return [diagnose.Region("in cells shared by overlapping windows", mask,
                                    "a cell can win in two windows: add (+=), do not assign"),
                    diagnose.Region("in cells of one window only", ~mask)]
        if padding == "same":
            pads = ic.padding_amounts(x.shape[1:3], pool, strides, (1, 1), padding)
            near = _last_row_col(x.shape, pads)
            return [diagnose.Region("next to the padded border", near,
                                    "check the crop of the padding"),
                    diagnose.Region("away from the padded border", ~near)]
        return []

    def lookalikes(self, what: str, case: Case) -> list[diagnose.Lookalike]:
        if what != "dL/dx" or not case.config.extra.get("ties"):
            return []
        args = (case.x, case.G[0], *self._pool(case.config))
        return [diagnose.Lookalike(route_max(*args, "split"),
                                   "the gradient was split between tied cells; Keras gives "
                                   "all of it to the first maximum."),
                diagnose.Lookalike(route_max(*args, "all"),
                                   "every tied cell got the whole gradient (summing over "
                                   "ties); Keras gives it to the first maximum only."),
                diagnose.Lookalike(route_max(*args, "last"),
                                   "the gradient went to the last tied maximum; Keras gives "
                                   "it to the first (row-major order).")]

    def hint(self, what: str) -> str:
        return "check that each dy goes to the first maximum of its window"


def _last_row_col(shape: tuple, pads: tuple) -> np.ndarray:
    """Cells whose window reaches into the padding (bottom/right with TF's 'same')."""
    (top, bottom), (left, right) = pads
    _, h, w, _ = shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    near = ((rows < top) | (rows >= h - bottom) | (cols < left) | (cols >= w - right))
    return np.broadcast_to(near[None, :, :, None], shape)


EXERCISES = [Im2colExercise(), Conv2dExercise(), MaxPoolingExercise()]

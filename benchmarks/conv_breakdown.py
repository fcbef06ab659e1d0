"""Where a convolution layer's training step goes, form by form (issue 18's breakdown).

    python -m benchmarks.conv_breakdown [--rounds 15] [--out benchmarks/results/conv_breakdown.md]

For the second convolution of the tutorial CNN (64 x 14x14x32 -> 5x5 'same' -> 64 filters)
and of the keras-io convnet (128 x 13x13x32 -> 3x3 'valid' -> 64 filters), and for the first
max pooling of each, it times every piece of the step and every alternative form that
issue 18 names, *interleaved* (round r times every form once, in turn), so that load from
other processes hits all forms alike; the figures are medians over the rounds, with the
fastest round. Next to them: the GEMM-only bound (the three products at their shapes, at the
rate this BLAS reaches on a large square product) and the memory-bandwidth bound (the bytes
a piece must read and write, at the rate of a large ``np.copyto``).

Forms compared (each against the one the layers use):

* the forward product with the batch-major patch matrix ``cols @ K`` (N*oh*ow, kh*kw*C) vs
  the channel-major one ``K.T @ cols.T`` (a transposed im2col, then the product);
* the input gradient as one small product per kernel offset added straight into dx, no
  dcols (``im2col.conv_input_grad``, the layers' form since 2026-12-02) vs
  ``col2im(dz @ K.T)`` (one product, then the adjoint of im2col offset by offset: the
  layers' form before) vs the same adjoint grouped by (kernel row, output column) (the
  pre-issue-15 code: longer contiguous runs) vs a channel-major patch gradient
  ``K @ dz.T`` added per offset into a channel-major dx (every read contiguous) vs the
  product of dz's patches with the flipped kernel (``im2col(pad(dz)) @ flip(K)``, stride 1);
* ``dz @ K.T`` on a contiguous copy of K.T (``backend.transposed``) vs on the ``.T`` view;
* a fresh patch matrix every step vs one buffer reused across steps;
* max-pool backward: the layers' (``window_argmax`` then ``add_at_window_cells``) vs NumPy's
  ``argmax`` vs the pre-issue-15 mask walk (``hit &= ~routed``); max-pool forward over the
  window view vs through a reshape (non-overlapping windows) vs a running maximum of taps;
* first layers (one input channel): the batch-major patch matrix vs a channel-major one, and
  the weight gradient from each;
* Adam's update of the tutorial CNN's 3.27M weights against the memory it must move.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minikeras.layers import im2col as ic

RESULTS = Path(__file__).resolve().parent / "results" / "conv_breakdown.md"
CASES = {  # name: (N, H, W, C, F, k, padding)
    "tutorial CNN conv2 (batch 64, 14x14x32, 5x5 same, 64)": (64, 14, 14, 32, 64, 5, "same"),
    "convnet conv2 (batch 128, 13x13x32, 3x3 valid, 64)": (128, 13, 13, 32, 64, 3, "valid"),
}
FIRST = {  # first layers, one input channel: name: (N, H, W, C, F, k, padding)
    "tutorial CNN conv1 (batch 64, 28x28x1, 5x5 same, 32)": (64, 28, 28, 1, 32, 5, "same"),
    "convnet conv1 (batch 128, 28x28x1, 3x3 valid, 32)": (128, 28, 28, 1, 32, 3, "valid"),
}
POOLS = {  # name: (N, H, W, C)
    "tutorial CNN pool1 (64 x 28x28x32, 2x2)": (64, 28, 28, 32),
    "convnet pool1 (128 x 26x26x32, 2x2)": (128, 26, 26, 32),
}


def col2im_grouped(dcols, padded_shape, pads, kernel, out_hw):  # type: ignore[no-untyped-def]
    """The pre-issue-15 col2im (stride 1, no dilation): one += per (kernel row, output
    column), each moving runs of kw*C numbers."""
    n, hp, wp, c = padded_shape
    (oh, ow), (kh, kw) = out_hw, kernel
    g = dcols.reshape(n, oh, ow, kh, kw, c)
    dxpad = np.zeros(padded_shape, dtype=dcols.dtype)
    for ky in range(kh):
        for x in range(ow):
            dxpad[:, ky:ky + oh, x:x + kw, :] += g[:, :, x, ky, :, :]
    (top, bottom), (left, right) = pads
    return dxpad[:, top:hp - bottom, left:wp - right, :]


def maxpool_backward_masks(xpad, y, dy):  # type: ignore[no-untyped-def]
    """The pre-issue-15 max-pool backward (2x2, stride 2): walk the taps, mask of routed."""
    dxpad = np.zeros_like(xpad)
    routed = None
    for i, (ky, kx) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        hit = ic.offset_slice(xpad, ky, kx, y.shape[1:3], (2, 2)) == y
        if routed is not None:
            hit &= ~routed
        if i < 3:
            routed = hit if routed is None else routed | hit
        ic.offset_slice(dxpad, ky, kx, y.shape[1:3], (2, 2))[...] = dy * hit
    return dxpad


def conv_forms(n: int, h: int, w: int, c: int, f: int, k: int,
               padding: str) -> tuple[dict[str, Callable[[], object]], dict[str, float]]:
    rng = np.random.default_rng(0)
    x = rng.random((n, h, w, c), dtype=np.float32)
    kernel = rng.random((k, k, c, f), dtype=np.float32) - 0.5
    pads = ic.padding_amounts((h, w), (k, k), (1, 1), (1, 1), padding)
    oh, ow = (ic.output_length(h, k, 1, 1, padding), ic.output_length(w, k, 1, 1, padding))
    xpad = ic.to_padded_nhwc(x, pads, False)
    cols = ic.im2col(xpad, (k, k), (oh, ow), (1, 1), (1, 1))
    km = kernel.reshape(-1, f)
    kt = np.ascontiguousarray(km.T)
    m = n * oh * ow
    dz = rng.random((m, f), dtype=np.float32) - 0.5
    colbuf = np.empty_like(cols)
    view = ic.patch_view(xpad, (k, k), (oh, ow), (1, 1), (1, 1))
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, c))
    # dz's patches for dx = im2col(pad(dz)) @ flip(K): pad by k-1-pad on each side
    (top, bottom), (left, right) = pads
    dz_pads = ((k - 1 - top, k - 1 - bottom), (k - 1 - left, k - 1 - right))

    def channel_major_col2im() -> object:
        dcols_t = (km @ dz.T).reshape(k, k, c, n, oh, ow)     # rows (ky, kx, c), contiguous
        dxpad = np.zeros((c, n) + xpad.shape[1:3], np.float32)
        for ky in range(k):
            for kx in range(k):
                dxpad[:, :, ky:ky + oh, kx:kx + ow] += dcols_t[ky, kx]
        dx = dxpad[:, :, top:xpad.shape[1] - bottom, left:xpad.shape[2] - right]
        return np.ascontiguousarray(dx.transpose(1, 2, 3, 0))

    def flipped_kernel() -> object:
        dzpad = ic.to_padded_nhwc(dz.reshape(n, oh, ow, f), dz_pads, False)
        patches = ic.im2col(dzpad, (k, k), (h, w), (1, 1), (1, 1))
        return (patches @ flipped).reshape(n, h, w, c)

    def channel_major_forward() -> object:
        cols_t = np.ascontiguousarray(view.transpose(3, 4, 5, 0, 1, 2)).reshape(-1, m)
        return kt @ cols_t

    forms: dict[str, Callable[[], object]] = {
        "im2col (fresh patch matrix)": lambda: ic.im2col(xpad, (k, k), (oh, ow), (1, 1),
                                                         (1, 1)),
        "im2col into a reused buffer": lambda: np.copyto(colbuf.reshape(view.shape), view),
        "forward product cols @ K (batch-major)": lambda: cols @ km,
        "forward, channel-major: im2col^T then K^T @ cols^T": channel_major_forward,
        "dK = cols^T @ dz": lambda: cols.T @ dz,
        "dcols = dz @ K^T (contiguous K^T)": lambda: dz @ kt,
        "dcols = dz @ K.T (transposed view)": lambda: dz @ km.T,
        "dx = conv_input_grad: one product per offset, no dcols (the layers')": lambda:
            ic.conv_input_grad(dz, kernel, xpad.shape, pads, (oh, ow), (1, 1), (1, 1)),
        "dx = col2im(dz @ K^T), per kernel offset (the layers' until 2026-12-02)": lambda:
            ic.col2im(dz @ kt, xpad.shape, pads, (k, k), (oh, ow), (1, 1), (1, 1)),
        "dx = col2im(dz @ K^T) grouped by (ky, x) (pre-issue-15)": lambda: col2im_grouped(
            dz @ kt, xpad.shape, pads, (k, k), (oh, ow)),
        "dx, channel-major: K @ dz^T added per offset into a (C, N, H, W) dx": (
            channel_major_col2im),
        "dx = im2col(pad(dz)) @ flip(K)": flipped_kernel,
    }
    sizes = {"cols_mb": cols.nbytes / 2**20, "gemm_flop": 2.0 * m * km.shape[0] * f,
             "x_mb": xpad.nbytes / 2**20}
    ref = ic.col2im(dz @ kt, xpad.shape, pads, (k, k), (oh, ow), (1, 1), (1, 1))
    for name in forms:
        if not name.startswith("dx"):
            continue
        np.testing.assert_allclose(forms[name](), ref, rtol=1e-3, atol=1e-3)
    return forms, sizes


def first_layer_forms(n: int, h: int, w: int, c: int, f: int, k: int,
                      padding: str) -> dict[str, Callable[[], object]]:
    """A first layer's patch matrix (kh*kw*C = 9 or 25 columns, C = 1): batch-major (the
    layers') vs channel-major (one row per kernel tap: runs of ow pixels instead of kw)."""
    rng = np.random.default_rng(2)
    x = rng.random((n, h, w, c), dtype=np.float32)
    pads = ic.padding_amounts((h, w), (k, k), (1, 1), (1, 1), padding)
    oh, ow = (ic.output_length(h, k, 1, 1, padding), ic.output_length(w, k, 1, 1, padding))
    xpad = ic.to_padded_nhwc(x, pads, False)
    view = ic.patch_view(xpad, (k, k), (oh, ow), (1, 1), (1, 1))
    cols = ic.im2col(xpad, (k, k), (oh, ow), (1, 1), (1, 1))
    cols_t = np.ascontiguousarray(view.transpose(3, 4, 5, 0, 1, 2)).reshape(-1, n * oh * ow)
    dz = rng.random((n * oh * ow, f), dtype=np.float32) - 0.5
    assert np.allclose(cols.T @ dz, cols_t @ dz, rtol=1e-4, atol=1e-3)
    return {
        "im2col, batch-major (N*oh*ow, kh*kw*C) (the layers')": lambda: ic.im2col(
            xpad, (k, k), (oh, ow), (1, 1), (1, 1)),
        "im2col, channel-major (kh*kw*C, N*oh*ow)": lambda: np.ascontiguousarray(
            view.transpose(3, 4, 5, 0, 1, 2)).reshape(-1, n * oh * ow),
        "dK = cols.T @ dz (the layers')": lambda: cols.T @ dz,
        "dK = cols_t @ dz (channel-major)": lambda: cols_t @ dz,
        "forward cols @ K (the layers')": lambda: cols @ dz[:cols.shape[1]].T[:, :f].T,
    }


def optimizer_forms() -> dict[str, Callable[[], object]]:
    """Adam's update of the tutorial CNN's 3,274,634 weights, as ``Adam.update_step`` writes
    it (its temporaries included), against the memory it must move (read g, m, v, w; write
    m, v, w: 7 passes over 13 MB) timed as plain copies."""
    from minikeras import optimizers
    from minikeras.variable import Variable

    rng = np.random.default_rng(3)
    n = 3_274_634
    var = Variable(rng.standard_normal(n).astype(np.float32) * 0.01, name="w")
    grad = rng.standard_normal(n).astype(np.float32) * 0.01
    adam = optimizers.Adam(1e-4)
    adam.build([var])
    a, b = np.empty(n, np.float32), np.empty(n, np.float32)
    return {"Adam.update_step on 3.27M weights (the layers')": lambda: adam.update_step(
                grad, var, 1e-4),
            "7 plain passes over 13 MB (the update's memory traffic, as copies)": lambda: [
                np.copyto(a, b) for _ in range(4)]}


def pool_forms(n: int, h: int, w: int, c: int) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_normal((n, h, w, c), dtype=np.float32), 0)  # relu: ties at 0
    oh, ow = h // 2, w // 2
    xpad = np.ascontiguousarray(x[:, :2 * oh, :2 * ow])
    windows = ic.patch_view(xpad, (2, 2), (oh, ow), (2, 2), (1, 1))
    y = windows.max(axis=(3, 4))
    dy = rng.standard_normal(y.shape, dtype=np.float32)

    def layers_form() -> object:
        winner = ic.window_argmax(windows, y)
        return ic.add_at_window_cells(dy, winner, xpad.shape, (2, 2), (2, 2))

    def numpy_argmax() -> object:
        winner = windows.reshape(n, oh, ow, 4, c).argmax(axis=3)
        return ic.add_at_window_cells(dy, winner, xpad.shape, (2, 2), (2, 2))

    assert np.array_equal(layers_form(), maxpool_backward_masks(xpad, y, dy))
    return {"max-pool backward: window_argmax + add_at_window_cells (the layer's)": layers_form,
            "max-pool backward: NumPy argmax + add_at_window_cells": numpy_argmax,
            "max-pool backward: mask walk (pre-issue-15)": lambda: maxpool_backward_masks(
                xpad, y, dy),
            "max-pool forward: max over the window view": lambda: windows.max(axis=(3, 4)),
            "max-pool forward: reshape to (N, oh, 2, ow, 2, C), max over the 2s": lambda:
                xpad.reshape(n, oh, 2, ow, 2, c).max(axis=(2, 4)),
            "max-pool forward: running maximum over the 4 taps": lambda: np.maximum(
                np.maximum(windows[:, :, :, 0, 0], windows[:, :, :, 0, 1]),
                np.maximum(windows[:, :, :, 1, 0], windows[:, :, :, 1, 1]))}


def interleaved(forms: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    for fn in forms.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(rounds):
        for name, fn in forms.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - t0))
    return times


def timing_table(times: dict[str, list[float]], first_column: str,
                 digits: int = 1) -> list[str]:
    """A markdown table of each form's median and fastest round (ms), then a blank line."""
    rows = [f"| {form} | {statistics.median(t):.{digits}f} | {min(t):.{digits}f} |"
            for form, t in times.items()]
    return [f"| {first_column} | median, ms | fastest, ms |", "|---|---:|---:|", *rows, ""]


def machine_rates(rounds: int) -> tuple[float, float]:
    """(float32 GEMM FLOP/s on 2048^3, copy bytes/s on 64 MB): best of ``rounds``."""
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    src = np.ones(16 * 2**20, np.float32)
    dst = np.empty_like(src)
    gemm, copy = [], []
    for _ in range(max(3, rounds // 3)):
        t0 = time.perf_counter()
        a @ a
        gemm.append(2 * 2048**3 / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        np.copyto(dst, src)
        copy.append(2 * src.nbytes / (time.perf_counter() - t0))  # read + write
    return max(gemm), max(copy)


def whole_steps(rounds: int) -> list[str]:
    """The minikeras step of both models at their batch and at batch 2 (where the arithmetic
    is negligible, so the step is the per-layer Python and NumPy call overhead)."""
    import minikeras as mk
    from benchmarks.suite.growth import build_compiled

    lines = ["## Whole training steps (minikeras)", "",
             "| model | batch | median, ms | fastest, ms |", "|---|---:|---:|---:|"]
    rng = np.random.default_rng(0)
    for key, batch in (("cnn_channels_last", 64), ("convnet", 128)):
        for b in (batch, 2):
            mk.utils.set_random_seed(0)
            model = build_compiled(key, mk, metrics=False)
            x = rng.random((b, 28, 28, 1), dtype=np.float32)
            y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, b)]
            times = interleaved({"step": lambda m=model, x=x, y=y: m.train_on_batch(x, y)},
                                max(3, rounds // 2))["step"]
            lines.append(f"| {key} | {b} | {statistics.median(times):.1f} | "
                         f"{min(times):.1f} |")
    return lines + [""]


def render(rounds: int) -> str:
    t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load0 = os.getloadavg()
    gemm_rate, copy_rate = machine_rates(rounds)
    lines = ["# Convolution and pooling, piece by piece: forms and bounds", "",
             f"`python -m benchmarks.conv_breakdown --rounds {rounds}` on {t0}; load average "
             f"{load0[0]:.1f} at the start (2 cores: above 2 the machine was shared and "
             "every figure is slower and noisier). OPENBLAS_NUM_THREADS="
             f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}. Median over the rounds "
             "[fastest round], ms; forms interleaved round by round. How to read this: the "
             "docstring of `benchmarks/conv_breakdown.py`.", "",
             f"* float32 GEMM rate (2048^3): {gemm_rate / 1e9:.0f} GFLOP/s; memory copy rate "
             f"(64 MB read + write): {copy_rate / 1e9:.1f} GB/s.", ""]
    for name, case in CASES.items():
        forms, sizes = conv_forms(*case)
        times = interleaved(forms, rounds)
        gemm_ms = 1e3 * sizes["gemm_flop"] / gemm_rate
        patch_ms = 1e3 * sizes["cols_mb"] * 2**20 * 2 / copy_rate
        lines += [f"## {name}", "",
                  f"Patch matrix {sizes['cols_mb']:.1f} MB; each of the three products "
                  f"{sizes['gemm_flop'] / 1e9:.2f} GFLOP: {gemm_ms:.1f} ms at the GEMM rate "
                  f"(GEMM-only bound of the layer's step: {3 * gemm_ms:.1f} ms). Writing or "
                  f"reading the patch matrix once: {patch_ms:.1f} ms at the copy rate "
                  "(im2col is one read + one write of it; col2im reads it and reads + writes "
                  "the input gradient once per kernel offset).", ""]
        lines += timing_table(times, "piece / form")
    for name, case in FIRST.items():
        lines += [f"## {name}", ""]
        lines += timing_table(interleaved(first_layer_forms(*case), rounds), "piece / form",
                              digits=2)
    lines += ["## Adam's update of the tutorial CNN's weights", ""]
    lines += timing_table(interleaved(optimizer_forms(), rounds), "piece")
    for name, shape in POOLS.items():
        lines += [f"## {name}", ""]
        lines += timing_table(interleaved(pool_forms(*shape), rounds), "form")
    lines += whole_steps(rounds)
    load1 = os.getloadavg()
    lines.append(f"Load average at the end: {load1[0]:.1f}; finished "
                 f"{time.strftime('%H:%M:%SZ', time.gmtime())}.")
    return "\n".join(lines) + "\n"


def report_main(doc: str, render_report: Callable[[int], str], rounds: int, out: Path,
                argv: list[str] | None) -> None:
    """``--rounds N --out PATH``: render the markdown report, print it and write it (the
    command line of this script and of ``benchmarks.two_threads``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    text = render_report(args.rounds)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


def main(argv: list[str] | None = None) -> None:
    report_main(__doc__, render, 15, RESULTS, argv)


if __name__ == "__main__":
    main()

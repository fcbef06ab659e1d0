"""What a second core would buy: the tutorial CNN's element-wise pieces on two threads.

    python -m benchmarks.two_threads [--rounds 9] [--out benchmarks/results/growth/two_threads.md]

NumPy runs each element-wise operation (a copy, an add, a comparison) on one core, but it lets
go of Python's lock while it does, so two Python threads can keep both cores busy: each works
on half of the batch. This script measures, for the pieces that issue 18's breakdown names as
one-core work, each piece on the whole batch (as minikeras runs it) against the same piece on
the two halves of the batch at once, on two threads, with the BLAS library held to one thread
each (``threadpoolctl``) so that the halves' products do not fight over the cores. The forms
are interleaved round by round; the figures are medians over the rounds.

Nothing here is in minikeras: it bounds what splitting the work over threads could give,
for the growth README's breakdown (``benchmarks/results/growth/README.md``, which also has
the whole-step A/B runs of the two ways of splitting a recurrent layer's batch over threads
that were tried in the layers). The last line adds up the savings (each piece in its faster
form) against the tutorial CNN's whole step.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from benchmarks.conv_breakdown import interleaved, report_main
from minikeras.layers import im2col as ic

RESULTS = Path(__file__).resolve().parent / "results" / "growth" / "two_threads.md"
_POOL = ThreadPoolExecutor(max_workers=2)
_BLAS = ThreadpoolController()

Piece = Callable[[slice], object]


def on_two_threads(piece: Piece, n: int) -> Callable[[], object]:
    """piece(rows) for the two halves of n rows at once, BLAS held to one thread."""
    halves = (slice(0, n // 2), slice(n // 2, n))

    def run() -> object:
        with _BLAS.limit(limits=1, user_api="blas"):
            futures = [_POOL.submit(piece, rows) for rows in halves]
            return [f.result() for f in futures]
    return run


def cnn_pieces() -> dict[str, tuple[Piece, int]]:
    """The tutorial CNN's one-core pieces at batch 64: piece(rows) -> work on those rows."""
    rng = np.random.default_rng(0)
    n = 64
    x2 = rng.random((n, 14, 14, 32), dtype=np.float32)
    pads = ic.padding_amounts((14, 14), (5, 5), (1, 1), (1, 1), "same")
    xpad2 = ic.to_padded_nhwc(x2, pads, False)
    kernel = rng.random((5, 5, 32, 64), dtype=np.float32) - 0.5
    km = kernel.reshape(-1, 64)
    cols = ic.im2col(xpad2, (5, 5), (14, 14), (1, 1), (1, 1)).reshape(n, -1, 800)
    dz = (rng.random((n, 14 * 14, 64), dtype=np.float32) - 0.5)
    a1 = rng.standard_normal((n, 28, 28, 32), dtype=np.float32)   # conv1's output
    windows = ic.patch_view(a1, (2, 2), (14, 14), (2, 2), (1, 1))
    y1 = windows.max(axis=(3, 4))
    dy1 = rng.standard_normal(y1.shape, dtype=np.float32)

    def pool_backward(rows: slice) -> object:
        winner = ic.window_argmax(windows[rows], y1[rows])
        return ic.add_at_window_cells(dy1[rows], winner, a1[rows].shape, (2, 2), (2, 2))

    return {
        "conv2 im2col (40 MB patch matrix)": (lambda r: ic.im2col(
            xpad2[r], (5, 5), (14, 14), (1, 1), (1, 1)), n),
        "conv2 forward product cols @ K": (lambda r: cols[r].reshape(-1, 800) @ km, n),
        "conv2 dx = conv_input_grad": (lambda r: ic.conv_input_grad(
            dz[r].reshape(-1, 64), kernel, xpad2[r].shape, pads, (14, 14), (1, 1), (1, 1)), n),
        "pool1 backward (window_argmax + add_at_window_cells)": (pool_backward, n),
        "relu and its derivative on conv1's output": (lambda r: (
            np.maximum(a1[r], 0), a1[r] > 0), n),
    }


def adam_pieces() -> dict[str, Callable[[], object]]:
    """Adam's update of the 3.27M weights: as written (12 passes over 13 MB arrays), in
    blocks of 64K weights (each block's passes stay in the core's cache), and in blocks on
    two threads (halves of the weights)."""
    rng = np.random.default_rng(3)
    n = 3_274_634
    w, g = (rng.standard_normal(n).astype(np.float32) * 0.01 for _ in range(2))
    m, v = np.zeros_like(w), np.zeros_like(w)
    c1, c2, alpha, eps = (np.float32(a) for a in (0.1, 0.001, 1e-4, 1e-7))

    def update(s: slice) -> None:
        m[s] += (g[s] - m[s]) * c1
        v[s] += (g[s] * g[s] - v[s]) * c2
        w[s] -= m[s] * alpha / (np.sqrt(v[s]) + eps)

    def blocks(rows: slice, size: int = 65_536) -> None:
        for start in range(rows.start, rows.stop, size):
            update(slice(start, min(start + size, rows.stop)))

    return {"Adam, as written (whole arrays)": lambda: update(slice(0, n)),
            "Adam in blocks of 64K weights, one thread": lambda: blocks(slice(0, n)),
            "Adam in blocks, the two halves on two threads": on_two_threads(blocks, n)}


def cnn_step_ms(rounds: int) -> float:
    import minikeras as mk
    from benchmarks.suite.growth import build_compiled

    mk.utils.set_random_seed(0)
    model = build_compiled("cnn_channels_last", mk, metrics=False)
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    times = interleaved({"step": lambda: model.train_on_batch(x, y)}, rounds)["step"]
    return statistics.median(times)


def render(rounds: int) -> str:
    t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lines = ["# Two threads on the element-wise work (issue 18)", "",
             f"`python -m benchmarks.two_threads --rounds {rounds}` on {t0}, load average "
             f"{os.getloadavg()[0]:.1f} at the start, {os.cpu_count()} cores. Medians over "
             "the rounds, ms; how to read this: the docstring of "
             "`benchmarks/two_threads.py`.", "",
             "| piece | one thread, ms | two halves on two threads, ms | saved, ms |",
             "|---|---:|---:|---:|"]
    saved_cnn = 0.0
    for name, (piece, n) in cnn_pieces().items():
        t = interleaved({"one": lambda p=piece, n=n: p(slice(0, n)),
                         "two": on_two_threads(piece, n)}, rounds)
        one, two = statistics.median(t["one"]), statistics.median(t["two"])
        saved_cnn += max(0.0, one - two)   # threads only where they help
        lines.append(f"| CNN {name} | {one:.2f} | {two:.2f} | {one - two:.2f} |")
    t = interleaved(adam_pieces(), rounds)
    whole, *blocked = (statistics.median(v) for v in t.values())
    saved_cnn += whole - min(blocked)
    for name, v in t.items():
        lines.append(f"| CNN {name} | {statistics.median(v):.2f} | | |")
    step = cnn_step_ms(rounds)
    lines += ["", f"The tutorial CNN's whole `train_on_batch` step, same run: {step:.1f} ms. "
              f"Taking the faster form of each piece above (two threads only where they "
              f"help; Adam in blocks, on one or two threads) saves {saved_cnn:.1f} ms, which "
              f"would make it {step - saved_cnn:.1f} ms.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    report_main(__doc__, render, 9, RESULTS, argv)


if __name__ == "__main__":
    main()

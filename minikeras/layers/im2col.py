"""im2col / col2im: a convolution as one matrix product.

A 2-D convolution slides a kh x kw window over the (padded) input. Copy every window into one
row of a matrix (``im2col``) and the whole convolution, for every sample and every output
position at once, becomes a single matrix product with the kernel. In channels_last
(N, H, W, C) layout, one output position (n, y, x) gives the row:

    padded input, one sample (H x W, each cell a C-vector)        one row of `cols`
    +----+----+----+----+
    | a  | b  | c  | .. |     window at output (y, x),           [ a b d e ]   (each letter is
    +----+----+----+----+     kh = kw = 2, stride 1:              C numbers, so the row has
    | d  | e  | f  | .. |       a b                               kh*kw*C entries, in
    +----+----+----+----+       d e                               (ky, kx, c) order)
    | .. | .. | .. | .. |
    +----+----+----+----+

    cols   : (N*oh*ow, kh*kw*C)      one row per output position
    kernel : (kh, kw, C, F)  -> reshape (kh*kw*C, F): the same (ky, kx, c) order, no transpose
    out    = cols @ kernel  : (N*oh*ow, F)  -> reshape (N, oh, ow, F)

``im2col`` never loops in Python: ``patch_view`` describes all windows at once as a 6-D
*strided view* (N, oh, ow, kh, kw, C) of the padded input (no data is copied: an output step
moves ``stride`` cells, a kernel step moves ``dilation`` cells), and the one reshape to 2-D
makes the only copy. The time then goes into the matrix product (BLAS), as it should.

The backward pass of ``cols = im2col(x)`` is ``col2im``, its adjoint. im2col copies, for
each kernel offset (ky, kx), one strided slice of the padded input (``offset_slice``: the
cell that offset sees, for every output) into the columns (ky, kx, :) of ``cols``. So
col2im does the reverse, offset by offset: it *adds* the columns (ky, kx, :) of ``dcols``
into that same slice of a zero padded gradient, then crops the padding. Windows overlap
when the stride is smaller than the kernel, so one input cell receives a sum over every
(output, offset) pair that read it; within one offset no two outputs read the same cell,
which is why one vectorised ``+=`` per offset is exact.

Padding follows TensorFlow: for 'same', P = max((out-1)*s + k_eff - n, 0) cells in total,
floor(P/2) before and the rest after (the extra cell goes to the bottom/right).
"""

from __future__ import annotations

from typing import Any

from minikeras import backend

Pads = tuple[tuple[int, int], tuple[int, int]]


def effective_kernel(k: int, d: int) -> int:
    """A kernel of k taps with dilation d spans k_eff = (k-1)*d + 1 input cells."""
    return (k - 1) * d + 1


def output_length(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    """Output size along one axis: 'valid' floor((n-k_eff)/s)+1, 'same' ceil(n/s)."""
    if n is None:
        return None
    if padding == "same":
        return (n - 1) // s + 1
    return (n - effective_kernel(k, d)) // s + 1


def same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TF 'same': P = max((out-1)*s + k_eff - n, 0); floor(P/2) before, the rest after."""
    out = (n - 1) // s + 1
    total = max((out - 1) * s + effective_kernel(k, d) - n, 0)
    return total // 2, total - total // 2


def padding_amounts(hw: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int],
                    dilation: tuple[int, int], padding: str) -> Pads:
    """((top, bottom), (left, right)) for an input of spatial size ``hw``."""
    if padding != "same":
        return (0, 0), (0, 0)
    return (same_padding(hw[0], kernel[0], strides[0], dilation[0]),
            same_padding(hw[1], kernel[1], strides[1], dilation[1]))


def to_padded_nhwc(x: Any, pads: Pads, channels_first: bool, value: float = 0.0) -> Any:
    """The input as padded NHWC. Channels_first input is transposed (a view) on the way.

    With no padding this is a view, no copy. With padding, one new buffer is filled once,
    which also makes it contiguous NHWC (so a channels_first transpose costs nothing extra).
    """
    xp = backend.xp
    if channels_first:
        x = x.transpose(0, 2, 3, 1)
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    out = xp.full((n, h + top + bottom, w + left + right, c), value, dtype=x.dtype)
    out[:, top:top + h, left:left + w, :] = x
    return out


def crop_padding(x_pad: Any, pads: Pads) -> Any:
    """An NHWC array without the padding ``to_padded_nhwc`` added (a view): the step of a
    backward pass that drops the gradient landing in the padding."""
    (top, bottom), (left, right) = pads
    _, hp, wp, _ = x_pad.shape
    return x_pad[:, top:hp - bottom, left:wp - right, :]


def offset_slice(xpad: Any, ky: int, kx: int, out_hw: tuple[int, int],
                 strides: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> Any:
    """The (N, oh, ow, C) view of the cells that kernel tap (ky, kx) sees, for every output.

    Output (y, x) with tap (ky, kx) reads padded cell (y*sh + ky*dh, x*sw + kx*dw).
    """
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilation
    y0, x0 = ky * dh, kx * dw
    return xpad[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw, :]


def patch_view(xpad: Any, kernel: tuple[int, int], out_hw: tuple[int, int],
               strides: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """All windows of a padded NHWC array as a (N, oh, ow, kh, kw, C) strided view (no copy)."""
    n, _, _, c = xpad.shape
    s_n, s_h, s_w, s_c = xpad.strides
    shape = (n, out_hw[0], out_hw[1], kernel[0], kernel[1], c)
    steps = (s_n, s_h * strides[0], s_w * strides[1], s_h * dilation[0], s_w * dilation[1], s_c)
    return backend.as_strided(xpad, shape, steps)


def im2col(xpad: Any, kernel: tuple[int, int], out_hw: tuple[int, int],
           strides: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """Padded NHWC input -> ``cols`` of shape (N*oh*ow, kh*kw*C): one row per output cell.

    The reshape of the strided view is the one copy; rows are in (n, y, x) order and columns
    in (ky, kx, c) order, the order of ``kernel.reshape(kh*kw*C, F)``.
    """
    view = patch_view(xpad, kernel, out_hw, strides, dilation)
    n, oh, ow, kh, kw, c = view.shape
    return view.reshape(n * oh * ow, kh * kw * c)


def col2im(dcols: Any, padded_shape: tuple[int, ...], pads: Pads, kernel: tuple[int, int],
           out_hw: tuple[int, int], strides: tuple[int, int],
           dilation: tuple[int, int]) -> Any:
    """The adjoint of ``im2col``: patch gradients (N*oh*ow, kh*kw*C) -> dL/dx, NHWC, unpadded.

    im2col reads cols[(n, y, x), (ky, kx, c)] = x_pad[n, y*sh + ky*dh, x*sw + kx*dw, c], so

        dpatches = dcols reshaped to (N, oh, ow, kh, kw, C)
        dx_pad   = 0, then for every kernel offset (ky, kx):
                   dx_pad[:, y*sh + ky*dh, x*sw + kx*dw, :] += dpatches[:, y, x, ky, kx, :]
                   (all outputs (y, x) at once: ``offset_slice`` is that slice of dx_pad)
        dx       = dx_pad without the padding (what lands in the padding is dropped)

    Stable contract (exercises and Conv1D/Conv2DTranspose call it): the arguments are those
    of ``im2col`` plus the padded input's shape and the padding it received.
    """
    xp = backend.xp
    n, _, _, c = padded_shape
    (oh, ow), (kh, kw) = out_hw, kernel
    dpatches = dcols.reshape(n, oh, ow, kh, kw, c)
    dx_pad = xp.zeros(padded_shape, dtype=dcols.dtype)
    for ky in range(kh):
        for kx in range(kw):
            dx_at_offset = offset_slice(dx_pad, ky, kx, out_hw, strides, dilation)
            dx_at_offset += dpatches[:, :, :, ky, kx, :]
    return crop_padding(dx_pad, pads)


def conv_input_grad(dz: Any, kernel: Any, padded_shape: tuple[int, ...], pads: Pads,
                    out_hw: tuple[int, int], strides: tuple[int, int],
                    dilation: tuple[int, int]) -> Any:
    """dL/dx of a convolution z = im2col(x_pad) @ K, from dz as rows (N*oh*ow, F) and the
    kernel K as (kh, kw, C, F). Plain expression (what it computes):

        dcols = dz @ K.reshape(kh*kw*C, F).T        the gradient of every patch entry
        dx    = col2im(dcols, ...)                 each patch added back where it was read

    Computed offset by offset, the same sum without the (N*oh*ow, kh*kw*C) dcols matrix:
    tap (ky, kx) of every window read the cells ``offset_slice(x_pad, ky, kx)``, and their
    gradient from that tap is dz @ K[ky, kx].T, an (N*oh*ow, C) block added into the same
    slice of dx_pad. kh*kw products of (M, F) x (F, C) and contiguous adds, instead of one
    (M, F) x (F, kh*kw*C) product and col2im's adds of C-long runs: 2.3x faster on the
    tutorial CNN's second convolution (12.8 vs 30 ms, ``benchmarks/results/growth``), and
    the 40 MB dcols is never made. ``tests/test_conv.py`` checks it against the plain form.
    """
    xp = backend.xp
    n, _, _, c = padded_shape
    (oh, ow), (kh, kw) = out_hw, kernel.shape[:2]
    dx_pad = xp.zeros(padded_shape, dtype=dz.dtype)
    for ky in range(kh):
        for kx in range(kw):
            dx_at_offset = offset_slice(dx_pad, ky, kx, out_hw, strides, dilation)
            dx_at_offset += (dz @ kernel[ky, kx].T).reshape(n, oh, ow, c)
    return crop_padding(dx_pad, pads)


# --------------------------------------------------------------------------- window cells
# Max pooling's backward needs, per window, *which* cell won, then dy added at that cell.
# Both live here, next to the window views, each with its plain NumPy expression in the
# docstring (tests/test_pooling.py checks the two agree bit for bit).

def window_argmax(windows: Any, window_max: Any = None) -> Any:
    """The number k (row-major in the window: k = ky*pw + kx) of each window's first
    maximum: (N, oh, ow, C). Plain expression (argmax returns the first of tied maxima:
    Keras' rule for max pooling):

        winner = windows.reshape(N, oh, ow, ph*pw, C).argmax(axis=3)

    ``windows`` is ``patch_view``'s (N, oh, ow, ph, pw, C) view, ``window_max`` each window's
    maximum (max pooling's forward output y; computed here when not given). The first
    maximum is the first cell equal to window_max, so its number counts the cells before it,
    the leading cells below the maximum:

        winner[o] = #{k : cells 0..k of window o are all below window_max[o]}

    For example a 2x2 window (cells 0..3) holding [1, 5, 5, 2]: its maximum is 5; cell 0 is
    below it (count 1), cells 0..1 are not all below it (the count stops), so the winner is
    cell 1, the first 5, as argmax says. The loop walks the cells in order, for every window
    at once: ``all_below`` says whether the cells so far are all below the maximum, and
    each cell for which it still holds adds one to the window's ``winner``. The cell numbers
    are stored in one byte for pools up to 16x16 (4x less memory traffic than int32). A
    window holding NaN differs: argmax names its first NaN, the count stops at cell 0.
    (NumPy's argmax over the short cell axis copies the windows and runs one inner loop per
    window: 10x slower on the tutorial CNN's pools.)
    """
    xp = backend.xp
    n, oh, ow, ph, pw, c = windows.shape
    if window_max is None:
        window_max = windows.max(axis=(3, 4))
    # cell numbers 0..ph*pw-1 fit in one byte for any pool up to 16x16: the count below and
    # the ``winner == k`` tests of add_at_window_cells then move 4x fewer bytes than int32
    cell_number = xp.uint8 if ph * pw <= 256 else xp.int32
    winner = xp.zeros((n, oh, ow, c), dtype=cell_number)
    all_below = xp.ones((n, oh, ow, c), dtype=bool)  # cells 0..k all below the maximum
    # the last cell needs no test: when every earlier cell is below the maximum, it holds it
    for k in range(ph * pw - 1):
        value = windows[:, :, :, k // pw, k % pw, :]
        all_below &= value < window_max
        winner += all_below
    return winner


def add_at_window_cells(dy: Any, winner: Any, padded_shape: tuple[int, ...],
                        window: tuple[int, int], strides: tuple[int, int]) -> Any:
    """A zero dx_pad of ``padded_shape`` with each dy[n, y, x, c] added at its window's cell
    number ``winner[n, y, x, c]`` (row-major, k = ky*pw + kx), i.e. at row y*sh + ky,
    column x*sw + kx: the scatter-add of max pooling's backward. As in ``col2im`` (the
    adjoint of the window view), cell k of every window at once is ``offset_slice``:

        for every cell k = (ky, kx) of the window:
            offset_slice(dx_pad, ky, kx) += dy * [winner == k]

    Windows that overlap (strides smaller than the window) add into shared cells.
    """
    xp = backend.xp
    n, oh, ow, c = dy.shape
    ph, pw = window
    dx_pad = xp.zeros(padded_shape, dtype=dy.dtype)
    for ky in range(ph):
        for kx in range(pw):
            dx_at_cell_k = offset_slice(dx_pad, ky, kx, (oh, ow), strides)
            dx_at_cell_k += dy * (winner == ky * pw + kx)
    return dx_pad

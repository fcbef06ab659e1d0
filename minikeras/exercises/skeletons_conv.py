"""The skeleton files of the convolution exercises (see ``ex_conv.py``).

Contracts they rely on: ``Conv2D.forward`` leaves a ``Conv2DCache`` (cols, padded_shape, pads,
out_hw, z, y) in ``self.cache``; ``MaxPooling2D.forward`` a ``MaxPoolCache`` (xpad, pads,
out_hw, y), both in NHWC (channels_last); ``im2col(xpad, kernel, out_hw, strides, dilation)`` is the
function ``Conv2D.forward`` calls through the module ``minikeras.layers.im2col``.
"""

IM2COL = '''\
"""Exercise im2col: a convolution as one matrix product.   (docs/inside.md, stop 8)

Check your work with:   python -m minikeras.exercises check im2col {path}
Stuck? Read minikeras/layers/im2col.py: the picture in its docstring.
"""

import numpy as np


def im2col(xpad, kernel, out_hw, strides, dilation):
    """Copy every window of the padded input into one row of a matrix.

        xpad     : (N, Hp, Wp, C)   the input, already padded, channels last
        kernel   : (kh, kw)         the window's size
        out_hw   : (oh, ow)         how many windows fit down and across
        strides  : (sh, sw)         an output step moves this many cells
        dilation : (dh, dw)         a kernel step moves this many cells
        returns  : cols, (N·oh·ow, kh·kw·C), in xpad's dtype

    Row (n, y, x) (in that order: n slowest) holds the window of output (y, x) of sample n,
    its columns in (ky, kx, c) order (c fastest), the order of kernel.reshape(kh·kw·C, F):

        cols[(n, y, x), (ky, kx, c)] = xpad[n, y·sh + ky·dh, x·sw + kx·dw, c]

    Then conv(x) = cols @ kernel.reshape(-1, F). Loops are fine for a first version.
    """
    raise NotImplementedError("im2col: build cols (N·oh·ow, kh·kw·C) with "
                              "cols[(n, y, x), (ky, kx, c)] = xpad[n, y·sh + ky·dh, "
                              "x·sw + kx·dw, c]")
'''

CONV2D = '''\
"""Exercise conv2d: Conv2D's backward pass, and col2im.   (docs/inside.md, stop 8)

Check your work with:   python -m minikeras.exercises check conv2d {path}
Stuck? Read minikeras/layers/convolutional.py (Conv2D) and minikeras/layers/im2col.py.
"""

import numpy as np

from minikeras.layers import Conv2D


def col2im(dcols, padded_shape, pads, kernel, out_hw, strides):
    """The adjoint of im2col: send each patch gradient back to the cells it came from.

        dcols        : (N·oh·ow, kh·kw·C)  rows (n, y, x), columns (ky, kx, c), as in im2col
        padded_shape : (N, Hp, Wp, C)      the padded input's shape
        pads         : ((top, bottom), (left, right))
        returns      : dx, (N, H, W, C) with H = Hp − top − bottom, W = Wp − left − right

        dx_pad[n, y·sh + ky, x·sw + kx, c]  +=  dcols[(n, y, x), (ky, kx, c)]

    for every output (y, x) and tap (ky, kx). Windows overlap (stride < kernel), so a cell
    collects from several rows: add, never assign. Then crop the padding off dx_pad.
    Hint: g = dcols.reshape(N, oh, ow, kh, kw, C).
    """
    raise NotImplementedError("col2im: dx_pad[:, y·sh + ky, x·sw + kx, :] += "
                              "g[:, y, x, ky, kx, :], then crop the padding")


class MyConv2D(Conv2D):
    """Forward (given), channels_last, cols = im2col(pad(x)):

        cols : (M, K)     M = N·oh·ow rows, K = kh·kw·C columns
        Kmat = self.kernel.value.reshape(K, F)      (kernel: (kh, kw, C, F))
        z = cols·Kmat + b                           (M, F), seen as (N, oh, ow, F)
        y = act(z)

    What forward leaves in self.cache, a Conv2DCache with the named fields
        cache.cols          (M, K)
        cache.padded_shape  (N, Hp, Wp, C), the padded input's shape
        cache.pads          ((top, bottom), (left, right))
        cache.out_hw        (oh, ow)
        cache.z, cache.y    the pre-activation and the output
    """

    def backward(self, grad_output):
        """Given: dz = dy ⊙ act'(z), then the rest in backward_from_logits."""
        cache = self.cache
        dz = self._activation_backward(cache.z, cache.y, grad_output)
        return self.backward_from_logits(dz)

    def backward_from_logits(self, grad_logits):
        """dz (N, oh, ow, F) -> rows (M, F) with self._to_rows(dz). Then:

            dKmat = colsᵀ·dz     (K, F), reshaped to the kernel's (kh, kw, C, F)
            db    = Σ_rows dz    (F,)
            dcols = dz·Kmatᵀ     (M, K)
            dx    = col2im(dcols, cache.padded_shape, cache.pads, self.kernel_size,
                           cache.out_hw, self.strides)

        add dK, db with self.kernel.add_grad, self.bias.add_grad (when self.use_bias);
        return dx, shaped like x.
        """
        cache = self.cache
        dz = self._to_rows(grad_logits)
        raise NotImplementedError("Conv2D.backward_from_logits: dK = colsᵀ·dz, db = Σ dz, "
                                  "dcols = dz·Kᵀ, dx = col2im(dcols, ...)")
'''

MAX_POOLING = '''\
"""Exercise max_pooling: MaxPooling2D's backward pass.   (docs/inside.md, stop 9)

Check your work with:   python -m minikeras.exercises check max_pooling {path}
Stuck? Read minikeras/layers/pooling.py, MaxPooling2D.
"""

from minikeras import backend
from minikeras.layers import MaxPooling2D


class MyMaxPooling2D(MaxPooling2D):
    """Forward (given), channels_last: y[n, y, x, c] = max of the window of output (y, x).
    Padded cells are −inf, so they never win.

    What forward leaves in self.cache, a MaxPoolCache with the named fields
        cache.xpad   : (N, Hp, Wp, C)  the padded input
        cache.pads   : ((top, bottom), (left, right))
        cache.out_hw : (oh, ow)
        cache.y      : (N, oh, ow, C)
    Helpers: self._taps() lists the window's cells (ky, kx) in row-major order;
    self._slice(a, (ky, kx), out_hw) is the (N, oh, ow, C) view of the cells that tap
    (ky, kx) sees for every output (writable: a view of a); self._crop(dxpad, pads) crops
    the padding off a padded gradient.
    """

    def backward(self, grad_output):
        """dy (N, oh, ow, C). Each output's whole gradient goes to ONE cell of its window:
        the FIRST cell, in row-major (ky, kx) order, that equals the max (Keras/TF's rule
        for ties; tied cells after it get nothing):

            dx[cell] = Σ over the windows whose first maximum is that cell of dy[window]

        Windows may overlap (stride < pool size): a cell can win in two windows, so add.
        """
        xp = backend.xp
        cache = self.cache
        dy = grad_output
        dxpad = xp.zeros_like(cache.xpad)
        raise NotImplementedError("MaxPooling2D.backward: route each dy to the first maximum "
                                  "of its window (walk self._taps() in order), then "
                                  "self._crop(dxpad, cache.pads)")
'''

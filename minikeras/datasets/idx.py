"""Read IDX files, the format MNIST and Fashion-MNIST are distributed in (plain or gzipped).

Layout (all integers big-endian):

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d int32 sizes (e.g. 10000, 28, 28 for the MNIST test images)
    then        the elements, row-major

So MNIST images start at byte 4 + 3*4 = 16 and labels at byte 4 + 1*4 = 8, which is
where Keras' `offset=16` / `offset=8` come from; reading the header instead of
hard-coding the offsets also checks that the file is what we think it is.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    # Recognise gzip by its magic number, not by the file name.
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Load an IDX file (optionally gzipped) into a writable, native-endian NumPy array.

    Raises:
        ValueError: the header is not IDX, or the data size does not match the header.
    """
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (header bytes {data[:4]!r}).")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions).")
    shape = tuple(int(n) for n in np.frombuffer(data, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} ({expected} bytes of {dtype}), "
            f"but the file holds {len(data) - header} bytes of data."
        )
    flat = np.frombuffer(data, dtype, offset=header)
    # astype copies: the result is writable (frombuffer's is not) and native-endian.
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def load_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label IDX files: (N, H, W) images and (N,) labels, both uint8."""
    x, y = read_idx(images_path), read_idx(labels_path)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"IDX pair mismatch: images {images_path} have shape {x.shape}, labels "
            f"{labels_path} have shape {y.shape}; expected (N, H, W) and (N,)."
        )
    return x, y

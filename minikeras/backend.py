"""The backend: which array module does the arithmetic, and the global numeric settings.

Every layer, loss and optimizer reaches its arrays through ``backend.xp``: NumPy by default,
CuPy after ``set_backend("cupy")`` (or ``MINIKERAS_BACKEND=cupy`` in the environment). The few
places where NumPy and CuPy differ (scatter-add, strided views, moving data to and from the
device) are wrapped here, once, so the layer code reads the same on both.

Random numbers are always drawn on the host by one seeded NumPy generator (``rng()``), so a
CPU run and a GPU run start from identical weights.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType
from typing import Any

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_BACKEND = "numpy"
_RNG = np.random.default_rng()
_NAME_COUNTERS: dict[str, int] = {}

#: The array module in use (``numpy`` or ``cupy``). Read it as ``backend.xp`` at call time,
#: never ``from minikeras.backend import xp``, so that ``set_backend`` reaches every caller.
xp: ModuleType = np


# --------------------------------------------------------------------------- settings
def floatx() -> str:
    """The default float dtype name of weights and data (``"float32"``, as in Keras)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float dtype (``"float16"``, ``"float32"`` or ``"float64"``)."""
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(
            f"Unknown floatx type: {value!r}. Expected one of 'float16', 'float32', 'float64'."
        )
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor used by losses and optimizers (1e-7, as in Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (N, H, W, C) or ``"channels_first"`` (N, C, H, W)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    global _IMAGE_DATA_FORMAT
    _IMAGE_DATA_FORMAT = standardize_data_format(data_format)


def image_dim_ordering() -> str:
    """Keras 1/2: ``"th"`` (channels_first) or ``"tf"`` (channels_last)."""
    import warnings

    warnings.warn("image_dim_ordering() is Keras 1/2 API; use image_data_format().",
                  DeprecationWarning, stacklevel=2)
    return "th" if _IMAGE_DATA_FORMAT == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering: str) -> None:
    """Keras 1/2: ``"th"`` sets channels_first, ``"tf"`` channels_last."""
    import warnings

    if dim_ordering not in ("th", "tf"):
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r}. Expected 'th' or 'tf'.")
    fmt = "channels_first" if dim_ordering == "th" else "channels_last"
    warnings.warn(f"set_image_dim_ordering({dim_ordering!r}) is Keras 1/2 API; use "
                  f"set_image_data_format({fmt!r}).", DeprecationWarning, stacklevel=2)
    set_image_data_format(fmt)


def standardize_data_format(data_format: str | None) -> str:
    """``None`` means the global setting; anything else must be one of the two names."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    fmt = str(data_format).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    return fmt


# --------------------------------------------------------------------------- array module
def backend() -> str:
    """Name of the array backend in use: ``"numpy"`` or ``"cupy"``."""
    return _BACKEND


def set_backend(name: str) -> None:
    """Choose the array module. Call before building a model: weights live on one device.

    ``"cupy"`` needs both the ``cupy`` package and a visible CUDA GPU; the error says which
    of the two is missing.
    """
    global xp, _BACKEND
    name = str(name).lower()
    if name == "numpy":
        xp, _BACKEND = np, "numpy"
        return
    if name != "cupy":
        raise ValueError(f"Unknown backend {name!r}. Expected 'numpy' or 'cupy'.")
    try:
        import cupy
    except ImportError as exc:
        if getattr(exc, "name", None) != "cupy":  # present, but its CUDA libraries are not
            raise ImportError(f"set_backend('cupy'): the package `cupy` is installed but "
                              f"failed to import ({exc}).") from exc
        raise ImportError(
            "set_backend('cupy'): the package `cupy` is not installed. Install the wheel that "
            "matches your CUDA (e.g. `pip install cupy-cuda12x`) or use the 'numpy' backend."
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # the CUDA runtime raises its own error type when no driver
        raise RuntimeError(
            f"set_backend('cupy'): cupy is installed but no CUDA GPU is visible ({exc})."
        ) from exc
    if count < 1:
        raise RuntimeError("set_backend('cupy'): cupy is installed but no CUDA GPU is visible.")
    xp, _BACKEND = cupy, "cupy"


def is_gpu() -> bool:
    return _BACKEND == "cupy"


def to_device(array: Any, dtype: Any = None) -> Any:
    """Host (or device) data -> an array of the current module, optionally cast."""
    out = xp.asarray(array)
    if dtype is not None and out.dtype != np.dtype(dtype):
        out = out.astype(dtype)
    return out


def to_numpy(array: Any) -> np.ndarray:
    """Any backend array (or scalar) -> a NumPy array on the host."""
    if _BACKEND == "cupy" and not isinstance(array, np.ndarray | np.generic | float | int):
        return xp.asnumpy(array)
    return np.asarray(array)


def to_float(value: Any) -> float:
    """A 0-d device array -> a Python float (one device-to-host copy on a GPU)."""
    return float(to_numpy(value))


def scatter_add(target: Any, indices: Any, values: Any) -> None:
    """``target[indices] += values`` where repeated indices accumulate (unlike ``+=``)."""
    if _BACKEND == "cupy":
        # CuPy >= 13 has ufunc.at (cupyx.scatter_add is deprecated there); older CuPy only
        # has cupyx.scatter_add. Both add repeated indices atomically on the device.
        at = getattr(xp.add, "at", None)
        if at is not None:
            at(target, indices, values)
        else:
            import cupyx

            cupyx.scatter_add(target, indices, values)
    else:
        np.add.at(target, indices, values)


def matmul(a: Any, b: Any) -> Any:
    """``a @ b`` for a 2-D ``b``. When the inner dimension is 1 the product is an outer
    product, and a broadcast multiply computes the same numbers several times faster than
    BLAS does for that shape (measured: (1000, 1) @ (1, 80) in 79 us, broadcast in 18 us)."""
    if a.shape[-1] == 1 and b.ndim == 2:
        return a * b[0]
    return a @ b


def overflow_to_inf() -> Any:
    """A context in which a float overflow gives inf without NumPy's RuntimeWarning.

    sigmoid's exp(-z) overflows for z < -88.7 in float32, and inf is then the right value:
    1 / (1 + inf) = 0. The activations' in-place forms, which the recurrent layers call once
    per gate and step, compute without a context of their own; the layers enter this one
    once per call around their time loop. (Entering NumPy's ``errstate`` per gate and step
    took about 9% of the stateful LSTM tutorial's training step.) CuPy never warns.
    """
    return np.errstate(over="ignore") if _BACKEND == "numpy" else contextlib.nullcontext()


def as_strided(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    """A read-only strided view into ``array`` (no copy): the heart of im2col."""
    if _BACKEND == "cupy":
        return xp.lib.stride_tricks.as_strided(array, shape=shape, strides=strides)
    return np.lib.stride_tricks.as_strided(array, shape=shape, strides=strides, writeable=False)


# --------------------------------------------------------------------------- randomness
def rng() -> np.random.Generator:
    """The host random generator every initializer and Dropout mask draws from."""
    return _RNG


def set_seed(seed: int | None) -> None:
    """Reseed the host generator (see ``minikeras.utils.set_random_seed``)."""
    global _RNG
    _RNG = np.random.default_rng(seed)
    _DEVICE_RNGS.clear()


def random_uniform(shape: tuple[int, ...], dtype: Any,
                   generator: np.random.Generator | None = None) -> Any:
    """U[0, 1) numbers on the current device (Dropout masks).

    NumPy draws from the host generator; CuPy draws on the device from a generator seeded by
    the host one, so a seeded run is repeatable on either backend (not identical across them).
    """
    gen = generator or _RNG
    if _BACKEND == "cupy":
        return _device_rng(gen).random(shape, dtype=np.float32).astype(dtype, copy=False)
    return gen.random(shape, dtype=np.float64 if np.dtype(dtype) == np.float64
                      else np.float32).astype(dtype, copy=False)


def random_normal(shape: tuple[int, ...], dtype: Any,
                  generator: np.random.Generator | None = None) -> Any:
    """N(0, 1) numbers on the current device (GaussianNoise, GaussianDropout), drawn as
    ``random_uniform`` draws: from the host generator, or on the device from a generator
    seeded by it."""
    gen = generator or _RNG
    if _BACKEND == "cupy":
        return _device_rng(gen).standard_normal(shape, dtype=np.float32).astype(dtype,
                                                                                copy=False)
    return gen.standard_normal(shape, dtype=np.float64 if np.dtype(dtype) == np.float64
                               else np.float32).astype(dtype, copy=False)


#: one device generator per host generator (keyed by id; the host one is kept alive with it).
#: Creating a CuPy generator initialises its state with a kernel: do it once, not per batch.
_DEVICE_RNGS: dict[int, tuple[np.random.Generator, Any]] = {}


def _device_rng(gen: np.random.Generator) -> Any:
    entry = _DEVICE_RNGS.get(id(gen))
    if entry is None or entry[0] is not gen:
        entry = (gen, xp.random.default_rng(int(gen.integers(0, 2**63 - 1))))
        _DEVICE_RNGS[id(gen)] = entry
    return entry[1]


def synchronize() -> None:
    """Wait for the device to finish queued work (a no-op on NumPy). Timings need it: CuPy
    calls return as soon as the kernel is queued."""
    if _BACKEND == "cupy":
        xp.cuda.get_current_stream().synchronize()


# --------------------------------------------------------------------------- naming
def unique_name(prefix: str) -> str:
    """``dense``, ``dense_1``, ``dense_2``...: Keras' global per-prefix counters."""
    count = _NAME_COUNTERS.get(prefix, 0)
    _NAME_COUNTERS[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Reset the layer-name counters, as ``keras.backend.clear_session()`` does."""
    _NAME_COUNTERS.clear()


if os.environ.get("MINIKERAS_BACKEND", "numpy").lower() == "cupy":
    set_backend("cupy")


# --------------------------------------------------------------------------- conv / pool helpers
def transposed(matrix: Any) -> Any:
    """``matrix.T`` as a C-contiguous array (a copy of a small factor, e.g. Conv2D's kernel).

    Same numbers as the ``.T`` view; the reason is speed: OpenBLAS has run Conv2D's tall-thin
    ``dz @ K.T`` (12544 x 64 times 64 x 800 in the tutorial CNN) several times slower on the
    transposed view on some machines; on others the two are within noise of each other (both
    forms are timed side by side in ``benchmarks/results/conv_breakdown.md``).
    """
    return xp.ascontiguousarray(matrix.T)


def matmul_transposed(a: Any, b: Any) -> Any:
    """``a @ b.T`` for a 2-D ``b`` (Dense's dx = dz·Wᵀ), in the faster of two equal forms.

    Plain expression: ``matmul(a, b.T)``. When ``b`` is no larger than ``a``, ``b.T`` is
    first copied C-contiguous (``transposed(b)``): BLAS runs several times slower on the
    transposed view of a tall-thin matrix, and the copy is small next to the product. A
    ``b`` larger than ``a`` (the CNN's 3136x1024 kernel against a 64-row gradient) is read
    as the view: there the copy would cost 5x the product, and BLAS reads the view at full
    speed. Both forms give the same numbers (``tests/test_core_layers.py``).
    """
    b_t = xp.ascontiguousarray(b.T) if b.size <= a.size else b.T   # transposed(b) or the view
    return matmul(a, b_t)

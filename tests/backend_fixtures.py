"""Backend fixtures: run tests on every available backend, and a strict CuPy stand-in.

``--backend=all|numpy|cupy|sim`` (default ``all``) chooses what the ``xp_backend`` fixture is
parametrized over:

* ``numpy``: the reference.
* ``cupy``: the real CuPy on a real GPU; skipped (with the reason) when CuPy is not installed
  or no GPU is visible, so CI without a GPU stays green.
* ``sim``: *simcupy*, a CuPy stand-in built on NumPy that is as strict as CuPy about what
  CuPy refuses: no implicit device->host conversion (``np.asarray(a)`` raises, as CuPy does),
  NumPy arrays may not be mixed into device operations, ``as_strided`` has CuPy's signature,
  reductions return 0-d device arrays (not Python scalars), ``ufunc.at`` is absent. It counts
  every device->host read (``float(a)``, ``bool(a)``, ``asnumpy``...) in ``SIM.syncs`` and
  records every NumPy function called on a device array in ``SIM.np_calls``, so the tests can
  prove the training step never waits on the device. It runs the real ``set_backend("cupy")``
  code path (it is installed in ``sys.modules`` as ``cupy``), so the CuPy code path of the
  whole library is exercised on any machine; only the real GPU run proves the numerics.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minikeras import backend

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` (the shared layer/model cases) lives at the root
    sys.path.insert(0, str(ROOT))

BACKENDS = ("numpy", "cupy", "sim")


# --------------------------------------------------------------------------- simcupy
class _SimState:
    """What the stand-in saw: device->host reads and NumPy functions on device arrays."""

    def __init__(self) -> None:
        self.device_count = 1
        self.reset()

    def reset(self) -> None:
        self.syncs: list[str] = []
        self.np_calls: list[str] = []


SIM = _SIM_STATE = _SimState()


def _unwrap(value: Any, strict: bool = True) -> Any:
    """SimArray -> its NumPy array; refuse host NumPy arrays where CuPy refuses them."""
    if isinstance(value, SimArray):
        return value._a
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v, strict) for v in value)
    if strict and isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)} (simcupy: a NumPy array was mixed "
                        "into a device operation; move it with xp.asarray first)")
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return SimArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _index(idx: Any) -> Any:
    # CuPy converts NumPy index arrays to device arrays itself: allowed.
    return _unwrap(idx, strict=False)


class SimArray:
    """A 'device' array: a NumPy array behind CuPy's rules."""

    __array_priority__ = 1000

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    # -- what CuPy refuses or makes explicit
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly. (simcupy)")

    def _sync(self, why: str) -> None:
        _SIM_STATE.syncs.append(why)

    def get(self) -> np.ndarray:
        self._sync("get")
        return self._a.copy()

    def item(self) -> Any:
        self._sync("item")
        return self._a.item()

    def tolist(self) -> Any:
        self._sync("tolist")
        return self._a.tolist()

    def __float__(self) -> float:
        self._sync("float")
        return float(self._a)

    def __int__(self) -> int:
        self._sync("int")
        return int(self._a)

    def __bool__(self) -> bool:
        self._sync("bool")
        return bool(self._a)

    def __index__(self) -> int:
        self._sync("index")
        return self._a.__index__()

    def __format__(self, spec: str) -> str:
        self._sync("format")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __repr__(self) -> str:
        return f"simcupy.{self._a!r}"

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.__array_interface__["data"][0], False), "strides": None}

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: SimArray(self._a.T))

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[SimArray]:
        return (SimArray(v) for v in self._a)

    def __getitem__(self, idx: Any) -> SimArray:
        return SimArray(np.asarray(self._a[_index(idx)]))

    def __setitem__(self, idx: Any, value: Any) -> None:
        # host -> device on assignment is allowed by CuPy (an implicit upload)
        self._a[_index(idx)] = _unwrap(value, strict=False)

    def __getattr__(self, name: str) -> Any:
        if name == "_a":  # not set yet (copy/pickle): no recursion
            raise AttributeError(name)
        attr = getattr(self._a, name)  # methods: reshape, sum, astype, transpose...
        if not callable(attr):
            return _wrap(attr)

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

        return method

    # -- NumPy protocols: CuPy dispatches both; we record function calls (not ufuncs: the
    #    operators of NumPy scalars reach us through __array_ufunc__ too)
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            raise TypeError(f"simcupy: ufunc method {ufunc.__name__}.{method} is not portable"
                            " to CuPy; use backend.scatter_add and friends")
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(ufunc(*_unwrap(inputs), **kwargs))

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        _SIM_STATE.np_calls.append(func.__name__)
        return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))


def _binary(name: str) -> Any:
    def op(self: SimArray, other: Any) -> Any:
        return _wrap(getattr(self._a, name)(_unwrap(other)))

    return op


def _inplace(name: str) -> Any:
    def op(self: SimArray, other: Any) -> SimArray:
        getattr(self._a, name)(_unwrap(other))
        return self

    return op


for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
           "xor", "lt", "le", "gt", "ge", "eq", "ne"):
    setattr(SimArray, f"__{_n}__", _binary(f"__{_n}__"))
    if _n not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(SimArray, f"__r{_n}__", _binary(f"__r{_n}__"))
        setattr(SimArray, f"__i{_n}__", _inplace(f"__i{_n}__"))
for _n in ("neg", "pos", "abs", "invert"):
    setattr(SimArray, f"__{_n}__", (lambda n: lambda self: SimArray(getattr(self._a, n)()))(
        f"__{_n}__"))
SimArray.__hash__ = None  # type: ignore[assignment]


def _function(fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


class _SimUfunc:
    """A ufunc without ``.at`` (code must go through ``backend.scatter_add``)."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        return _wrap(self._u(*_unwrap(args), **kwargs))

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return _wrap(self._u.reduce(*_unwrap(args), **kwargs))


def _asarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> SimArray:
    if isinstance(a, SimArray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else SimArray(a._a.astype(dtype))
    return SimArray(np.array(_unwrap(a, strict=False), dtype=dtype, copy=True))


def _asnumpy(a: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    if isinstance(a, SimArray):
        _SIM_STATE.syncs.append("asnumpy")
        return a._a.copy()
    return np.asarray(a)


def _as_strided(x: SimArray, shape: Any = None, strides: Any = None) -> SimArray:
    # CuPy's signature: no `writeable`/`subok`; the view is writeable.
    return SimArray(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides))


class _SimGenerator:
    def __init__(self, seed: Any = None) -> None:
        self._g = np.random.default_rng(seed)

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> SimArray:
        return SimArray(np.asarray(self._g.random(size, dtype=dtype)))

    def standard_normal(self, size: Any = None, dtype: Any = np.float64) -> SimArray:
        return SimArray(np.asarray(self._g.standard_normal(size, dtype=dtype)))


class _Stream:
    def synchronize(self) -> None:
        _SIM_STATE.syncs.append("synchronize")


class _Device:
    def __init__(self, device: int = 0) -> None:
        self.id = device
        self.compute_capability = "90"

    def synchronize(self) -> None:
        _SIM_STATE.syncs.append("synchronize")

    def __enter__(self) -> _Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def _device_count() -> int:
    if _SIM_STATE.device_count < 0:
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected (simcupy)")
    return _SIM_STATE.device_count


#: NumPy functions that CuPy (13, 14) certainly has under the same name. simcupy refuses any
#: other (``np.broadcast_shapes``, ``np.errstate``, ``np.vectorize`` of Python code... are not
#: there, or do not run Python on the device): add a name here only after checking CuPy's docs.
CUPY_NAMES = frozenset("""
    array asarray ascontiguousarray asfortranarray empty empty_like zeros zeros_like ones
    ones_like full full_like arange linspace eye identity
    reshape ravel transpose swapaxes moveaxis rollaxis expand_dims squeeze broadcast_to
    broadcast_arrays concatenate stack vstack hstack split array_split repeat tile flip pad
    where take take_along_axis roll atleast_1d atleast_2d atleast_3d copy shape ndim size
    add subtract multiply divide true_divide floor_divide negative power sqrt square exp expm1
    log log1p log2 log10 logaddexp abs absolute sign tanh sinh cosh sin cos maximum minimum
    fmax fmin clip greater greater_equal less less_equal equal not_equal logical_and
    logical_or logical_not logical_xor bitwise_and bitwise_or invert isnan isinf isfinite
    reciprocal floor ceil rint round around copyto
    sum mean max min amax amin prod argmax argmin any all cumsum var std count_nonzero nonzero
    argwhere sort argsort unique dot matmul tensordot einsum outer inner vdot
    result_type can_cast allclose isclose array_equal
""".split())


class _SimModule(types.ModuleType):
    """``cupy``: NumPy's namespace, wrapped; types and constants pass through."""

    def __getattr__(self, name: str) -> Any:
        obj = getattr(np, name)
        if (callable(obj) and not isinstance(obj, type) and not name.startswith("__")
                and name not in CUPY_NAMES):
            raise AttributeError(f"simcupy: `cupy.{name}` is not known to exist in CuPy; use "
                                 f"NumPy for host-side shape math, or add it to CUPY_NAMES "
                                 "after checking CuPy's documentation")
        if isinstance(obj, np.ufunc):
            return _SimUfunc(obj)
        if isinstance(obj, type | np.dtype | int | float | types.ModuleType) or obj is None:
            return obj
        if callable(obj):
            return _function(obj)
        return obj


def make_simcupy() -> dict[str, types.ModuleType]:
    """The modules to put in ``sys.modules``: cupy, cupyx, cupyx.scipy, cupyx.scipy.special."""
    cp = _SimModule("cupy")
    cp.__version__ = "0.0-simcupy"
    cp.ndarray = SimArray
    cp.asarray = _asarray
    cp.array = _asarray
    cp.asnumpy = _asnumpy
    cp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
    cp.random = types.SimpleNamespace(default_rng=_SimGenerator)
    runtime = types.SimpleNamespace(
        getDeviceCount=_device_count, runtimeGetVersion=lambda: 13000,
        driverGetVersion=lambda: 13000,
        getDeviceProperties=lambda i: {"name": b"simcupy (NumPy stand-in)",
                                       "totalGlobalMem": 0})
    cp.cuda = types.SimpleNamespace(runtime=runtime, Device=_Device,
                                    get_current_stream=_Stream, Stream=types.SimpleNamespace(
                                        null=_Stream()))
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda a, idx, v: np.add.at(a._a, _index(idx), _unwrap(v))
    scipy = types.ModuleType("cupyx.scipy")
    special = types.ModuleType("cupyx.scipy.special")
    special.erf = lambda x: SimArray(np.vectorize(math.erf, otypes=[x.dtype])(x._a))
    scipy.special = special
    cupyx.scipy = scipy
    return {"cupy": cp, "cupyx": cupyx, "cupyx.scipy": scipy, "cupyx.scipy.special": special}


def install_simcupy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import cupy`` find simcupy for this test (undone by monkeypatch)."""
    for name, module in make_simcupy().items():
        monkeypatch.setitem(sys.modules, name, module)
    _SIM_STATE.device_count = 1
    _SIM_STATE.reset()


# --------------------------------------------------------------------------- real cupy
def real_cupy_reason() -> str | None:
    """Why the real CuPy backend cannot run here (None when it can)."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return f"CuPy is not installed ({type(exc).__name__}: {exc})"
    if getattr(cupy, "ndarray", None) is SimArray:
        return "simcupy is installed in place of cupy"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"CuPy is installed but no CUDA GPU is visible ({exc})"
    return None if count > 0 else "CuPy is installed but no CUDA GPU is visible"


# --------------------------------------------------------------------------- pytest hooks
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", default="all", choices=("all", *BACKENDS),
                     help="array backends for tests using `xp_backend`: numpy, cupy (real GPU;"
                          " skipped without one), sim (strict CuPy stand-in) or all")


def selected_backends(config: pytest.Config) -> list[str]:
    choice = config.getoption("--backend", default="all")
    return list(BACKENDS) if choice == "all" else [choice]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "xp_backend" in metafunc.fixturenames:
        metafunc.parametrize("xp_backend", selected_backends(metafunc.config), indirect=True)
    if "device_backend" in metafunc.fixturenames:
        devices = [b for b in selected_backends(metafunc.config) if b != "numpy"]
        metafunc.parametrize("device_backend", devices or ["sim"], indirect=True)


def _activate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "sim":
        install_simcupy(monkeypatch)
        backend.set_backend("cupy")
    elif name == "cupy":
        reason = real_cupy_reason()
        if reason:
            pytest.skip(reason)
        backend.set_backend("cupy")
    else:
        backend.set_backend("numpy")


@pytest.fixture
def xp_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The backend name ('numpy', 'cupy' or 'sim'), active for the test, NumPy after it."""
    _activate(request.param, monkeypatch)
    try:
        yield request.param
    finally:
        backend.set_backend("numpy")


@pytest.fixture
def device_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Like ``xp_backend`` but only device backends ('cupy', 'sim'). The backend is *not*
    switched on: tests compare NumPy against it and call ``use(name)`` themselves."""
    name = request.param
    if name == "sim":
        install_simcupy(monkeypatch)
    elif real_cupy_reason():
        pytest.skip(real_cupy_reason())
    try:
        yield name
    finally:
        backend.set_backend("numpy")

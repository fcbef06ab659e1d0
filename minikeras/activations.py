"""Activation functions, each next to its derivative.

Every activation is an ``Activation`` object with

* ``forward(x) -> y``, and
* ``backward(x, y, dy) -> dx``: the vector-Jacobian product, given the input ``x``, the
  output ``y`` and dL/dy. Element-wise activations return ``dy * f'(x)``; softmax, whose
  Jacobian is not diagonal, returns ``y * (dy - sum(dy * y))`` along its axis.

The module-level functions (``relu(x)``, ``softmax(x)``, ...) are the forward formulas, as in
``keras.activations``; ``get(identifier)`` turns a name, one of those functions, or an
``Activation`` into an ``Activation``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minikeras import backend

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _xp() -> Any:
    return backend.xp


def _exp(x: Any, out: Any = None) -> Any:
    """exp without NumPy's overflow warning (inf is the right answer where it overflows)."""
    with backend.overflow_to_inf():
        return backend.xp.exp(x, out=out)


def _erf(x: Any) -> Any:
    if backend.is_gpu():
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    # NumPy has no erf; math.erf is exact to double precision, which the gradient check needs.
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


# --------------------------------------------------------------------------- forward formulas
def linear(x: Any) -> Any:
    return x


def relu(x: Any) -> Any:
    return _xp().maximum(x, 0)


def sigmoid(x: Any) -> Any:
    return 1 / (1 + _exp(-x))


def tanh(x: Any) -> Any:
    return _xp().tanh(x)


def softmax(x: Any, axis: int = -1) -> Any:
    e = _xp().exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1) -> Any:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - _xp().log(_xp().exp(shifted).sum(axis=axis, keepdims=True))


def elu(x: Any, alpha: float = 1.0) -> Any:
    return _xp().where(x > 0, x, alpha * (_exp(_xp().minimum(x, 0)) - 1))


def selu(x: Any) -> Any:
    return SELU_SCALE * elu(x, SELU_ALPHA)


def softplus(x: Any) -> Any:
    return _xp().logaddexp(x, 0).astype(x.dtype)


def softsign(x: Any) -> Any:
    return x / (1 + _xp().abs(x))


def hard_sigmoid(x: Any) -> Any:
    """Keras 3: relu6(x + 3) / 6 (Keras 1/2 used clip(0.2x + 0.5, 0, 1))."""
    return _xp().clip(x + 3, 0, 6) / 6


def swish(x: Any) -> Any:
    return x * sigmoid(x)


silu = swish


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Any:
    return _xp().where(x > 0, x, negative_slope * x)


def gelu(x: Any) -> Any:
    """Exact GELU, x * Phi(x) (Keras 3's default, approximate=False)."""
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


# --------------------------------------------------------------------------- derivatives
def _d_relu(x: Any, y: Any, dy: Any) -> Any:
    return dy * (x > 0)


def _d_sigmoid(x: Any, y: Any, dy: Any) -> Any:
    return dy * y * (1 - y)


def _d_tanh(x: Any, y: Any, dy: Any) -> Any:
    return dy * (1 - y * y)


def _d_softmax(x: Any, y: Any, dy: Any, axis: int = -1) -> Any:
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def _d_elu(x: Any, y: Any, dy: Any, alpha: float = 1.0) -> Any:
    return _xp().where(x > 0, dy, dy * (y + alpha))


def _d_selu(x: Any, y: Any, dy: Any) -> Any:
    return _xp().where(x > 0, SELU_SCALE * dy, dy * (y + SELU_SCALE * SELU_ALPHA))


def _d_softplus(x: Any, y: Any, dy: Any) -> Any:
    return dy * sigmoid(x)


def _d_softsign(x: Any, y: Any, dy: Any) -> Any:
    d = 1 + _xp().abs(x)
    return dy / (d * d)


def _d_hard_sigmoid(x: Any, y: Any, dy: Any) -> Any:
    return dy * ((x > -3) & (x < 3)) / 6


def _d_swish(x: Any, y: Any, dy: Any) -> Any:
    s = sigmoid(x)
    return dy * (s + x * s * (1 - s))


def _d_leaky_relu(x: Any, y: Any, dy: Any, negative_slope: float = 0.2) -> Any:
    return _xp().where(x > 0, dy, negative_slope * dy)


def _d_gelu(x: Any, y: Any, dy: Any) -> Any:
    cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
    pdf = _xp().exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return dy * (cdf + x * pdf)


def _d_linear(x: Any, y: Any, dy: Any) -> Any:
    return dy


class Activation:
    """A named activation: its forward formula and its vector-Jacobian product."""

    def __init__(self, name: str, fn: Callable, grad: Callable | None, has_logits: bool = False,
                 **params: Any) -> None:
        self.name = name
        self.fn = fn
        self.grad = grad
        self.params = params
        #: softmax and sigmoid: cross-entropy after them is computed from their input (logits).
        self.has_logits = has_logits
        #: f written into a given array (``forward(x, out=...)``), or None: then a copy
        self._into = _INTO.get(fn) if not params else None

    def forward(self, x: Any, out: Any = None) -> Any:
        """f(x); with ``out``, written into that array (the recurrent layers' time loops
        reuse their buffers: at their small sizes every temporary array costs). With ``out``
        an overflow is not guarded against here: call it inside ``backend.overflow_to_inf()``."""
        if out is None:
            return self.fn(x, **self.params)
        if self._into is None:
            out[...] = self.fn(x, **self.params)
        else:
            self._into(x, out)
        return out

    def backward(self, x: Any, y: Any, dy: Any) -> Any:
        if self.grad is None:
            raise NotImplementedError(
                f"The custom activation {self.name!r} has no derivative, so it cannot be "
                "trained through. Give the function a `derivative(x, y, dy)` attribute."
            )
        return self.grad(x, y, dy, **self.params)

    @property
    def elementwise(self) -> bool:
        """True when y_i depends on x_i alone (every built-in but softmax): then
        dL/dx = f'(x) ⊙ dL/dy, and the factor f'(x) can be computed before dL/dy is known."""
        return self.name in _TABLE and self.name != "softmax"

    def derivative(self, x: Any, y: Any) -> Any:
        """f'(x) of an element-wise activation: its backward with dL/dy = 1 (exactly the
        factor that ``backward`` multiplies dL/dy by)."""
        d = self.backward(x, y, _xp().ones((), dtype=y.dtype))
        return d if d.shape == x.shape else _xp().broadcast_to(d, x.shape).copy()  # linear

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


def _sigmoid_into(x: Any, out: Any) -> None:
    """``sigmoid`` written into ``out``: the same operations, so the same float32 bits.

    Its caller enters ``backend.overflow_to_inf()`` (the recurrent layers do, once per call):
    exp(-x) = inf for x < -88.7 (float32) is right, sigmoid(x) is then 0.
    """
    xp = backend.xp
    xp.reciprocal(1 + xp.exp(-x), out=out)   # 1 / (1 + e^-x)


#: in-place versions of the activations the recurrent layers use most
_INTO: dict[Callable, Callable[[Any, Any], Any]] = {
    sigmoid: _sigmoid_into,
    tanh: lambda x, out: _xp().tanh(x, out=out),
    relu: lambda x, out: _xp().maximum(x, 0, out=out),
}

_TABLE: dict[str, tuple[Callable, Callable, bool]] = {
    "linear": (linear, _d_linear, False),
    "relu": (relu, _d_relu, False),
    "sigmoid": (sigmoid, _d_sigmoid, True),
    "tanh": (tanh, _d_tanh, False),
    "softmax": (softmax, _d_softmax, True),
    "elu": (elu, _d_elu, False),
    "selu": (selu, _d_selu, False),
    "softplus": (softplus, _d_softplus, False),
    "softsign": (softsign, _d_softsign, False),
    "hard_sigmoid": (hard_sigmoid, _d_hard_sigmoid, False),
    "swish": (swish, _d_swish, False),
    "silu": (silu, _d_swish, False),
    "leaky_relu": (leaky_relu, _d_leaky_relu, False),
    "gelu": (gelu, _d_gelu, False),
}


def get(identifier: Any) -> Activation:
    """``None``/``"linear"`` -> identity; a name; a function of this module; an Activation."""
    if identifier is None:
        identifier = "linear"
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _TABLE:
            raise ValueError(
                f"Could not interpret activation function identifier: {identifier!r}. "
                f"Valid names: {sorted(_TABLE)}."
            )
        fn, grad, logits = _TABLE[key]
        return Activation(key, fn, grad, logits)
    if callable(identifier):
        for key, (fn, grad, logits) in _TABLE.items():
            if identifier is fn:
                return Activation(key, fn, grad, logits)
        return Activation(getattr(identifier, "__name__", "custom"), identifier,
                          getattr(identifier, "derivative", None))
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation: Activation) -> str:
    return activation.name

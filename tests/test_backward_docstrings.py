"""Every hand-written backward pass states its equations in its docstring (issue 10).

The docstring is where a learner reads the math next to the code, so a layer whose
``backward`` (or its own ``backward_from_logits``) has none fails here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import minikeras.layers
from minikeras.layers.layer import Layer

# "dx =", "dL/dW", "dK = ...": the notation of docs/inside.md; or the plain word.
_GRADIENT_TEXT = re.compile(r"\bd[A-Za-z_]\w*(\[[^\]]*\])?\s*=|dL/d|gradient", re.IGNORECASE)


def _layer_classes() -> list[type]:
    found: dict[str, type] = {}
    modules = [minikeras.layers] + [
        importlib.import_module(f"minikeras.layers.{info.name}")
        for info in pkgutil.iter_modules(minikeras.layers.__path__)]
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Layer) and obj.__module__.startswith("minikeras.layers"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def _own_backward_methods() -> list[tuple[str, object]]:
    out = []
    for cls in _layer_classes():
        for name in ("backward", "backward_from_logits"):
            if name in vars(cls):   # defined by this class, not inherited
                out.append((f"{cls.__name__}.{name}", vars(cls)[name]))
    return out


def test_the_scan_sees_the_layers() -> None:
    names = {n for n, _ in _own_backward_methods()}
    for must in ("Layer.backward", "Dense.backward", "Dense.backward_from_logits",
                 "Conv2D.backward", "MaxPooling2D.backward", "SimpleRNN.backward",
                 "LSTM.backward", "TimeDistributed.backward_from_logits"):
        assert must in names


def test_public_layers_have_a_documented_backward() -> None:
    public = [getattr(minikeras.layers, n) for n in dir(minikeras.layers)
              if not n.startswith("_")]
    for cls in public:
        if isinstance(cls, type) and issubclass(cls, Layer):
            doc = inspect.getdoc(cls.backward) or ""
            assert _GRADIENT_TEXT.search(doc), f"{cls.__name__}.backward has no gradient doc"


@pytest.mark.parametrize("name,method", _own_backward_methods(),
                         ids=[n for n, _ in _own_backward_methods()])
def test_backward_docstring_states_the_gradient(name: str, method: object) -> None:
    doc = inspect.getdoc(method)
    assert doc, f"{name} has no docstring"
    assert _GRADIENT_TEXT.search(doc), f"{name}'s docstring does not state its gradient: {doc!r}"

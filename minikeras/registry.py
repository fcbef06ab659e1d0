"""Classes by name, so that a lower level can use a higher one without importing it.

Imports run one way (``backend`` at the bottom, ``models`` near the top; see
``tests/test_import_levels.py``). A few lower modules still need a higher class:

* ``x + y`` on symbolic tensors (``graph.py``) creates an ``Add`` operation (``ops/``);
* ``Input(...)`` (``graph.py``) creates an ``InputLayer`` (``layers/``);
* loading a file (``saving/``) creates ``Sequential`` and ``Functional`` models (``models/``);
* ``minikeras.legacy.Convolution2D`` is a layer (``layers/``).

They look the class up here by name. Every minikeras ``Layer`` subclass registers itself when
its module is imported (``Layer.__init_subclass__``), and ``import minikeras`` imports them
all, so by the time user code runs every name is filled in.
"""

from __future__ import annotations

_CLASSES: dict[str, type] = {}


def register(cls: type, name: str | None = None) -> type:
    """Record ``cls`` under ``name`` (default: its class name). The last definition wins."""
    _CLASSES[name or cls.__name__] = cls
    return cls


def get(name: str) -> type:
    """The class registered under ``name``; a clear error when nothing is."""
    try:
        return _CLASSES[name]
    except KeyError:
        raise LookupError(
            f"No minikeras class is registered under the name {name!r}. Import the module that "
            "defines it first (`import minikeras` imports them all)."
        ) from None


def find(name: str) -> type | None:
    """The class registered under ``name``, or ``None``."""
    return _CLASSES.get(name)

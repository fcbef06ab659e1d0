"""Run code written for Keras 1/2 on minikeras, unchanged: ``import keras`` gets minikeras.

From the command line (the script's own arguments follow it)::

    python -m minikeras.as_keras mnist_mlp.py --epochs 2
    python -m minikeras.as_keras -m some.module args...

In a notebook or a test::

    from minikeras import as_keras
    keras = as_keras.install()        # from now on `import keras` / `from keras.x import y`
    ...                               # are served by minikeras
    as_keras.uninstall()              # the real keras (if any) comes back

    with as_keras.installed():        # the same, for one block
        runpy.run_path("old_script.py")

How: a finder placed first on ``sys.meta_path`` answers every import of ``keras`` and
``keras.<sub>`` with a minikeras module: ``minikeras.losses`` for ``keras.losses``, the
thin re-export modules of ``minikeras._keras_shim`` for ``keras.layers``, ``keras.models``,
``keras.backend`` (settings; its math functions refused: no autodiff)...
Nothing is copied or patched: the classes are minikeras' own. Keras 1/2 argument spellings
are translated by ``minikeras.legacy`` (each with a one-line DeprecationWarning, which this
module makes visible since showing the modern spelling is the point).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import runpy
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

_SHIM = "minikeras._keras_shim"
#: keras modules that are minikeras modules as they are (no Keras 1/2 differences to fix).
_DIRECT = {
    "keras.activations": "minikeras.activations",
    "keras.initializers": "minikeras.initializers",
    "keras.initializations": "minikeras.initializers",  # Keras 1 name
    "keras.losses": "minikeras.losses",
    "keras.objectives": "minikeras.losses",  # Keras 1 name
    "keras.metrics": "minikeras.metrics",
    "keras.utils.np_utils": "minikeras.utils.np_utils",
}


def target_of(fullname: str) -> str | None:
    """The minikeras module that serves ``fullname`` (``keras`` or ``keras.x.y``), or None."""
    if fullname in _DIRECT:
        return _DIRECT[fullname]
    candidate = _SHIM + fullname[len("keras"):]
    try:
        found = importlib.util.find_spec(candidate)
    except ModuleNotFoundError:
        found = None
    return candidate if found is not None else None


class _AliasLoader(importlib.abc.Loader):
    """Hands back the already-imported minikeras module instead of executing anything."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        pass


class KerasFinder(importlib.abc.MetaPathFinder):
    """Answers ``import keras...`` with minikeras; unknown keras modules fail clearly."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        module = target_of(fullname)
        if module is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: `keras` is served by minikeras here "
                "(minikeras.as_keras), which provides keras.models, keras.layers (+ core, "
                "convolutional, pooling, recurrent, wrappers, advanced_activations, "
                "normalization, embeddings, merge), keras.optimizers (+ schedules), keras.utils "
                "(+ np_utils), keras.datasets.mnist, keras.backend, keras.callbacks, "
                "keras.activations, keras.initializers, keras.losses, keras.metrics, keras.ops "
                "(refused: no autodiff).",
                name=fullname,
            )
        is_package = hasattr(importlib.import_module(module), "__path__")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module),
                                               is_package=is_package)


_finder: KerasFinder | None = None
_saved: dict[str, ModuleType] = {}
_filter: Any = None


def _keras_names() -> list[str]:
    return [n for n in list(sys.modules) if n == "keras" or n.startswith("keras.")]


def install() -> ModuleType:
    """Serve ``import keras`` (and its submodules) from minikeras; returns that ``keras``.

    A real keras already imported is set aside (and restored by ``uninstall``).
    """
    global _finder, _filter
    if _finder is None:
        for name in _keras_names():
            _saved[name] = sys.modules.pop(name)
        _finder = KerasFinder()
        sys.meta_path.insert(0, _finder)
        # Keras 1/2 spellings warn with their modern form: show those, once per line.
        warnings.filterwarnings("default", message=r".*Keras 1/2", category=DeprecationWarning)
        _filter = warnings.filters[0]
        from minikeras import optimizers
        from minikeras._keras_shim.optimizers import LEGACY_NAMES

        optimizers.NAME_OVERRIDES.update(LEGACY_NAMES)  # compile("adadelta"): Keras 2's lr
    return importlib.import_module("keras")


def uninstall() -> None:
    """Undo ``install``: forget the minikeras-served ``keras`` modules, restore the real ones."""
    global _finder, _filter
    if _finder is None:
        return
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = None
    if _filter in warnings.filters:
        warnings.filters.remove(_filter)
        getattr(warnings, "_filters_mutated", lambda: None)()  # drop cached decisions
    _filter = None
    from minikeras import optimizers

    optimizers.NAME_OVERRIDES.clear()
    for name in _keras_names():
        del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()


def is_installed() -> bool:
    return _finder is not None


@contextlib.contextmanager
def installed() -> Iterator[ModuleType]:
    """``with installed() as keras:`` - minikeras serves ``keras`` inside the block only."""
    was = is_installed()
    keras = install()
    try:
        yield keras
    finally:
        if not was:
            uninstall()


def run_script(path: str, argv: list[str] | None = None) -> dict[str, Any]:
    """Run the Keras script at ``path`` as ``__main__`` with ``sys.argv = [path, *argv]``.

    Returns the script's global namespace (tests read its results from there).
    """
    import os

    old_argv, old_path0 = sys.argv, list(sys.path)
    sys.argv = [path, *(argv or [])]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        with installed():
            return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = old_argv
        sys.path[:] = old_path0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = ("usage: python -m minikeras.as_keras SCRIPT.py [args...]\n"
             "       python -m minikeras.as_keras -m MODULE [args...]\n"
             "Runs a Keras 1/2 script unchanged, with `import keras` served by minikeras.")
    if not args or args[0] in ("-h", "--help"):
        print(usage)
        return 0 if args else 2
    if args[0] == "-m":
        if len(args) < 2:
            print(usage, file=sys.stderr)
            return 2
        sys.argv = [args[1], *args[2:]]
        with installed():
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    run_script(args[0], args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

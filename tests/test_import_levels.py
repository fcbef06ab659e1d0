"""Imports run one way: a minikeras module imports only from its own level or below.

The levels (also in /work/shared/ARCHITECTURE.md and README.md), lowest first. A module's
level is the one of the longest dotted prefix of its name in ``LEVELS``, so a package's new
modules (``minikeras.optimizers.adam``, ``minikeras.layers.embedding``) take the package's
level; give a new top-level module or a module that must differ from its package its own entry.

    0  backend
    1  variable, activations, initializers, datasets, no_autodiff (the
       errors that refuse Lambda and backend math), the plain helpers of utils
       (utils/__init__, np_utils, rng_utils, file_utils, progbar, numerical_utils, validation)
    2  graph (KerasTensor, Node, Input), registry (classes by name)
    3  losses, metrics, optimizers, legacy, callbacks
    4  layers, ops (the symbolic operations x + y, x * y: layers of the graph)
    5  saving
    6  models
    7  what works on whole models: utils.gradient_check, utils.trace, exercises, as_keras,
       _keras_shim, the package __init__ (``minikeras``)

Every import counts, also one inside a function, ``importlib.import_module("...")`` and
``__import__("...")`` with a literal name. Importing ``a.b.c`` also runs the ``__init__`` of
``a.b``, so that package counts too (except the root ``minikeras``, which every import runs).
Where a lower level needs a higher class, it looks it up in ``minikeras.registry`` instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "minikeras"

LEVELS: dict[str, int] = {
    "minikeras.backend": 0,
    "minikeras.variable": 1,
    "minikeras.activations": 1,
    "minikeras.initializers": 1,
    "minikeras.datasets": 1,
    "minikeras.no_autodiff": 1,
    "minikeras.utils": 1,
    "minikeras.graph": 2,
    "minikeras.registry": 2,
    "minikeras.losses": 3,
    "minikeras.metrics": 3,
    "minikeras.optimizers": 3,
    "minikeras.legacy": 3,
    "minikeras.callbacks": 3,
    "minikeras.layers": 4,
    "minikeras.ops": 4,
    "minikeras.saving": 5,
    "minikeras.models": 6,
    "minikeras.utils.gradient_check": 7,
    "minikeras.utils.trace": 7,
    "minikeras.exercises": 7,
    "minikeras.as_keras": 7,
    "minikeras._keras_shim": 7,
}
ROOT_LEVEL = 7   # minikeras/__init__.py, the public face


def level_of(module: str) -> int | None:
    """The level of the longest dotted prefix of ``module`` in LEVELS (None: not placed)."""
    if module == "minikeras":
        return ROOT_LEVEL
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        prefix = ".".join(parts[:n])
        if prefix in LEVELS:
            return LEVELS[prefix]
    return None


def package_sources(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """module name -> (source, is_package) for every .py file of the package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path.read_text(encoding="utf-8"), is_pkg)
    return out


def imported_modules(module: str, source: str, is_package: bool,
                     known: set[str]) -> set[str]:
    """Every minikeras module that running ``module`` may import, anywhere in its code."""
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)   # a submodule, or a name of base
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute)
                       and node.func.attr == "import_module"))):
            targets.add(node.args[0].value)
    found = set()
    for t in targets:
        if t != "minikeras" and not t.startswith("minikeras."):
            continue
        found.add(t)
        parts = t.split(".")
        found.update(".".join(parts[:n]) for n in range(2, len(parts)))  # parent packages run
    found.discard(module)
    return found


def upward_imports(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """One line per import from a higher level, or per module that has no level."""
    known = set(sources)
    problems = []
    for module, (source, is_pkg) in sorted(sources.items()):
        mine = level_of(module)
        if mine is None:
            problems.append(f"{module} has no level: add it (or its package) to LEVELS in "
                            "tests/test_import_levels.py")
            continue
        for target in sorted(imported_modules(module, source, is_pkg, known)):
            theirs = level_of(target)
            if theirs is not None and theirs > mine:
                problems.append(f"{module} (level {mine}) imports {target} (level {theirs})")
    return problems


def test_no_upward_imports_in_minikeras() -> None:
    problems = upward_imports(package_sources())
    assert not problems, "Imports must run one way (lowest level first):\n" + "\n".join(problems)


def test_every_module_is_found() -> None:
    sources = package_sources()
    for name in ("minikeras", "minikeras.backend", "minikeras.graph", "minikeras.registry",
                 "minikeras.layers.layer", "minikeras.models.functional", "minikeras.saving"):
        assert name in sources


@pytest.mark.parametrize(("source", "expected"), [
    ("from minikeras.models import graph\n", "minikeras.models"),
    ("def f():\n    from minikeras.models.model import Model\n", "minikeras.models.model"),
    ("import minikeras.saving as s\n", "minikeras.saving"),
    ("from ..models.model import Model\n", "minikeras.models.model"),
    ("import importlib\nimportlib.import_module('minikeras.models')\n", "minikeras.models"),
    ("__import__('minikeras.utils.trace')\n", "minikeras.utils.trace"),
    ("from minikeras import Input\n", "minikeras"),
])
def test_a_planted_upward_import_is_found(source: str, expected: str) -> None:
    sources = {
        "minikeras": ("", True),
        "minikeras.layers": ("", True),
        "minikeras.layers.core": ("", False),
        "minikeras.layers.layer": (source, False),
        "minikeras.models": ("", True),
        "minikeras.models.model": ("", False),
        "minikeras.saving": ("", True),
        "minikeras.utils": ("", True),
        "minikeras.utils.trace": ("", False),
    }
    problems = upward_imports(sources)
    assert any(p.startswith("minikeras.layers.layer (level 4) imports ")
               and p.endswith(f"{expected} (level {level_of(expected)})") for p in problems), \
        problems


def test_downward_and_same_level_imports_pass() -> None:
    sources = {
        "minikeras.backend": ("import numpy as np\n", False),
        "minikeras.registry": ("from minikeras import backend\n", False),
        "minikeras.layers": ("from minikeras.layers.core import Dense\n", True),
        "minikeras.layers.core": ("from minikeras import registry\n"
                                  "from minikeras.layers import layer\n", False),
        "minikeras.layers.layer": ("", False),
    }
    assert upward_imports(sources) == []


def test_a_plain_helper_does_not_pull_in_the_model_tools() -> None:
    # datasets (level 1) import utils.file_utils, which runs utils/__init__: that package
    # must stay at level 1 (the model tools are added by minikeras/__init__.py)
    sources = package_sources()
    imported = imported_modules("minikeras.utils", *sources["minikeras.utils"], set(sources))
    assert all(level_of(m) <= 1 for m in imported), imported


def test_an_unplaced_module_is_reported() -> None:
    problems = upward_imports({"minikeras.newthing": ("", False)})
    assert problems == ["minikeras.newthing has no level: add it (or its package) to LEVELS in "
                        "tests/test_import_levels.py"]


def test_public_paths_survive_the_moves() -> None:
    import minikeras
    import minikeras.utils.gradient_check  # noqa: F401  (the module; the name stays the function)
    from minikeras import graph, layers, legacy, utils
    from minikeras.layers.legacy_convolution import Convolution2D
    from minikeras.models.graph import Input as OldInput

    assert minikeras.Input is layers.Input is OldInput is graph.Input
    assert legacy.Convolution2D is Convolution2D is layers.Convolution2D
    assert callable(utils.gradient_check) and not isinstance(utils.gradient_check, type(utils))
    assert callable(utils.trace) and utils.Trace.__name__ == "Trace"

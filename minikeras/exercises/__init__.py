"""Exercises: write a backward pass (or an update) yourself, graded against real Keras.

    python -m minikeras.exercises                     # the list, in suggested order
    python -m minikeras.exercises start lstm          # writes ./lstm.py, a skeleton
    python -m minikeras.exercises check lstm lstm.py  # the report card
    python -m minikeras.exercises check lstm --reference   # grades minikeras' own LSTM

From a notebook: ``minikeras.exercises.check("lstm", MyLSTM)``. See docs/exercises.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from minikeras.exercises import (
    ex_activations,
    ex_batchnorm,
    ex_conv,
    ex_dense,
    ex_gru,
    ex_losses,
    ex_optimizers,
    ex_rnn,
    ex_stateful,
)
from minikeras.exercises.base import Exercise, Options, ReportCard, load_keras, pinned_settings

#: the modules, in the suggested order of their exercises
_MODULES = (ex_dense, ex_activations, ex_losses, ex_optimizers, ex_conv, ex_rnn, ex_stateful,
            ex_batchnorm, ex_gru)
EXERCISES: dict[str, Exercise] = {e.name: e for module in _MODULES for e in module.EXERCISES}

__all__ = ["EXERCISES", "ReportCard", "check", "get", "listing", "load_piece", "start"]


def get(name: str) -> Exercise:
    key = name.lower().replace("-", "_")
    if key not in EXERCISES:
        raise KeyError(f"No exercise named {name!r}. The exercises: {', '.join(EXERCISES)}.")
    return EXERCISES[key]


def listing() -> str:
    """One line per exercise, in the suggested order."""
    lines = ["minikeras exercises, in suggested order (start one with "
             "`python -m minikeras.exercises start NAME`):", ""]
    width = max(len(n) for n in EXERCISES)
    for i, e in enumerate(EXERCISES.values(), 1):
        stars = "*" * e.difficulty
        lines.append(f"{i:>2}. {e.name:<{width}}  {stars:<3}  {e.title}: {e.teaches}")
    return "\n".join(lines)


def start(name: str, directory: str | Path = ".") -> Path:
    """Write the exercise's skeleton to DIRECTORY/NAME.py; never overwrite a file there."""
    ex = get(name)
    path = Path(directory) / f"{ex.name}.py"
    if path.exists():
        raise FileExistsError(f"{path} already exists: it may hold your work, so it is left "
                              "alone. Check it with `python -m minikeras.exercises check "
                              f"{ex.name} {path}`, or pass --dir for a fresh copy elsewhere.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ex.skeleton().replace("{path}", str(path)), encoding="utf-8")
    return path


def load_piece(name: str, file: str | Path) -> Any:
    """The learner's class or function from FILE (named as in the skeleton)."""
    ex = get(name)
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found. Start the exercise with "
                                f"`python -m minikeras.exercises start {ex.name}`.")
    spec = importlib.util.spec_from_file_location(f"_exercise_{ex.name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the learner's file: say what broke, and where
        raise ImportError(f"{path} failed to load: {type(e).__name__}: {e}") from e
    if ex.symbol is None:          # the file's functions, as a module
        return module
    piece = getattr(module, ex.symbol, None)
    if piece is None:
        raise AttributeError(f"{path} defines no `{ex.symbol}` (the name the skeleton uses).")
    return piece


def check(name: str, piece: Any = None, *, reference: bool = False, keras: bool | None = True,
          steps: int = 30, verbose: bool = True, last_stage: int = 4) -> ReportCard:
    """Grade ``piece`` (your class or function) for exercise ``name``; prints the report
    card (unless ``verbose=False``) and returns it. ``reference=True`` grades minikeras' own
    implementation; ``keras=False`` skips the Keras stages; ``steps``: stage 4's training."""
    ex = get(name)
    if reference:
        piece = ex.reference()
        subject = "minikeras' own implementation"
    elif piece is None:
        raise ValueError("Pass your class or function, or reference=True.")
    else:
        subject = getattr(piece, "__qualname__", repr(piece))
    module, reason = load_keras(keras)
    with pinned_settings():
        card = ex.grade(piece, Options(module, reason, steps, last_stage), subject)
    if verbose:
        print(card.render())
    return card

"""What every exercise has, the report card, and how a stage runs the learner's code.

An exercise is graded in four stages, each a method of its ``Exercise`` subclass that
returns the lines of its report and raises ``FailedStageError`` with a diagnosis:

1. ``stage_shapes``: shapes and dtypes of what the learner's code returns (float32);
2. ``stage_float64``: the float64 check on several random configurations (finite
   differences for a gradient, the formula for an optimizer);
3. ``stage_keras``: the same numbers from real Keras, from identical weights;
4. ``stage_model``: the tutorial model that uses the piece, trained with it.

Grading stops at the first failing stage (the later ones would only repeat its symptom).
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from minikeras import backend

STAGE_TITLES = ("shapes and dtypes", "float64 gradient check", "parity with real Keras",
                "tutorial model")


class FailedStageError(Exception):
    """A stage's verdict: the message is the diagnosis shown on the report card."""


class SkippedStageError(Exception):
    """The stage cannot run here (no Keras); the message says why."""


@dataclass
class StageResult:
    number: int
    title: str
    status: str            # "pass", "FAIL", "skipped", "not run"
    lines: list[str] = field(default_factory=list)


@dataclass
class ReportCard:
    exercise: str
    subject: str
    stages: list[StageResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No stage failed (stages left out with ``last_stage`` show as "not run")."""
        return self.failure is None

    @property
    def failure(self) -> StageResult | None:
        return next((s for s in self.stages if s.status == "FAIL"), None)

    @property
    def diagnosis(self) -> str:
        """The failing stage's message ('' when every stage passed)."""
        failed = self.failure
        return "\n".join(failed.lines) if failed else ""

    def render(self) -> str:
        out = [f"Report card: {self.exercise} ({self.subject})"]
        for s in self.stages:
            out.append(f"  {s.number}. {s.title:<26} {s.status}")
            out += [f"       {line}" for line in s.lines]
        ran = [s for s in self.stages if s.status != "not run"]
        verdict = (f"stage {self.failure.number} fails" if self.failure else
                   "all stages pass" if len(ran) == len(self.stages) else
                   f"stages 1-{len(ran)} pass")
        out.append(f"  => {verdict}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


@dataclass
class Options:
    """How to grade: which Keras (None: skip its stages, with ``keras_reason``), how many
    training steps in stage 4, which stages to run at most."""

    keras: Any = None
    keras_reason: str = ""
    steps: int = 30
    last_stage: int = 4


def load_keras(use: bool | None = True) -> tuple[Any, str]:
    """Real Keras on TensorFlow (CPU), or (None, why not)."""
    if use is False or os.environ.get("MINIKERAS_EXERCISES_NO_KERAS"):
        return None, "Keras was switched off (--no-keras or MINIKERAS_EXERCISES_NO_KERAS)"
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except Exception as e:  # noqa: BLE001 - any import failure means: no Keras here
        return None, f"keras is not installed here ({type(e).__name__}: {e})"
    if keras.backend.backend() != "tensorflow":
        return None, f"the Keras stages need the TensorFlow backend, not {keras.backend.backend()}"
    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
    keras.config.set_image_data_format("channels_last")
    return keras, ""


@contextlib.contextmanager
def pinned_settings() -> Iterator[None]:
    """Grade on NumPy, float32, epsilon 1e-7, channels_last (what Keras' stages pin too),
    whatever the session had; put the session's settings back afterwards."""
    saved = (backend.backend(), backend.floatx(), backend.epsilon(),
             backend.image_data_format())
    try:
        backend.set_backend("numpy")   # the grader's truths are NumPy arrays
        backend.set_floatx("float32")
        backend.set_epsilon(1e-7)
        backend.set_image_data_format("channels_last")
        yield
    finally:
        backend.set_backend(saved[0])
        backend.set_floatx(saved[1])
        backend.set_epsilon(saved[2])
        backend.set_image_data_format(saved[3])


def learner(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's code; an exception becomes a failed stage that names ``what``."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise FailedStageError(f"{what} is not written yet: {e}") from None
    except (FailedStageError, SkippedStageError):
        raise
    except Exception as e:  # noqa: BLE001 - the learner's bug, reported, never a crash
        where = ""
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if "minikeras/exercises" not in f.filename.replace(os.sep, "/")]
        if frames:
            f = frames[-1]
            where = f" (at {os.path.basename(f.filename)}:{f.lineno}: {f.line})"
        raise FailedStageError(f"{what} raised {type(e).__name__}: {e}{where}") from None


def check_array(what: str, got: Any, shape: tuple[int, ...], dtype: Any) -> None:
    """Stage 1's test of one returned array."""
    import numpy as np

    if got is None:
        raise FailedStageError(f"{what} is None; expected an array of shape {shape}.")
    if not hasattr(got, "shape") or not hasattr(got, "dtype"):
        raise FailedStageError(f"{what} is a {type(got).__name__}, expected an array of shape "
                               f"{shape}.")
    if tuple(got.shape) != tuple(shape):
        extra = " (transposed?)" if tuple(got.shape) == tuple(shape)[::-1] else ""
        raise FailedStageError(f"{what} has shape {tuple(got.shape)}, expected "
                               f"{tuple(shape)}{extra}.")
    if np.dtype(got.dtype) != np.dtype(dtype):
        raise FailedStageError(f"{what} has dtype {got.dtype}, expected {np.dtype(dtype)} (the "
                               "dtype of the layer: float32 unless built in float64).")


class Exercise:
    """One exercise: its card in the list, its skeleton, the real piece, and its stages."""

    name = ""
    title = ""
    difficulty = 1           # 1 (warm-up) .. 3 (hard)
    teaches = ""             # one line
    stop = ""                # the matching stop of docs/inside.md
    subject = "class"        # what the learner writes: "class" or "function"

    def skeleton(self) -> str:
        raise NotImplementedError

    def reference(self) -> Any:
        """minikeras' own implementation (what ``--reference`` grades)."""
        raise NotImplementedError

    def stage_shapes(self, piece: Any, opts: Options) -> list[str]:
        raise NotImplementedError

    def stage_float64(self, piece: Any, opts: Options) -> list[str]:
        raise NotImplementedError

    def stage_keras(self, piece: Any, opts: Options) -> list[str]:
        raise SkippedStageError("this exercise has no Keras stage")

    def stage_model(self, piece: Any, opts: Options) -> list[str]:
        raise SkippedStageError("this exercise has no tutorial-model stage")

    def grade(self, piece: Any, opts: Options, subject: str) -> ReportCard:
        card = ReportCard(self.name, subject)
        titles = getattr(self, "stage_titles", STAGE_TITLES)
        stages = (self.stage_shapes, self.stage_float64, self.stage_keras, self.stage_model)
        stopped = False
        for number, (title, stage) in enumerate(zip(titles, stages, strict=True), 1):
            if stopped or number > opts.last_stage:
                card.stages.append(StageResult(number, title, "not run"))
                continue
            needs_keras = number == 3 or (number == 4 and getattr(self, "model_needs_keras",
                                                                   False))
            try:
                if needs_keras and opts.keras is None:
                    raise SkippedStageError(opts.keras_reason)
                lines = stage(piece, opts)
                card.stages.append(StageResult(number, title, "pass", lines))
            except SkippedStageError as e:
                card.stages.append(StageResult(number, title, "skipped", [f"skipped: {e}"]))
            except FailedStageError as e:
                card.stages.append(StageResult(number, title, "FAIL", [str(e)]))
                stopped = True
        return card

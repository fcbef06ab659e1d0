"""Helpers of the exercise tests: grade a piece (no Keras, stages 1-2), assert a diagnosis."""

from __future__ import annotations

from minikeras import exercises


def grade(name: str, piece: object, last_stage: int = 2) -> exercises.ReportCard:
    return exercises.check(name, piece, keras=False, verbose=False, last_stage=last_stage)


def assert_caught(name: str, piece: object, *phrases: str) -> None:
    """The planted mistake fails, with every phrase of the intended diagnosis."""
    card = grade(name, piece)
    assert not card.passed, f"{name}: a planted mistake passed"
    for phrase in phrases:
        assert phrase in card.diagnosis, f"{name}: {phrase!r} not in {card.diagnosis!r}"


def mistake(cls: type, which: str) -> type:
    """``cls`` with its ``mistake`` switch set to ``which``."""
    return type(f"{cls.__name__}_{which}", (cls,), {"mistake": which})

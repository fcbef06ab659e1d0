"""Where is a gradient wrong? Compare it with the truth region by region, then by pattern.

The grader has, for every array a learner's code returns (dL/dx, dL/dkernel, an optimizer's
new weight...), the true values (finite differences in float64, or real Keras). A bare "max
error 0.3" does not help a learner; this module turns the difference into a sentence that
points at the term:

1. nothing came back, a wrong shape (transposed?), all zeros;
2. **location**: the exercise cuts each array into named regions (an LSTM kernel's four gate
   blocks, the border ring of a convolution's dx, the tied windows of a max pool). When only
   some regions differ, the message names them and their hint ("check df = dc * c_{t-1}");
3. **pattern**, when every region is wrong: the opposite sign, a constant factor (1/N missing,
   a 2 dropped), a transposed square matrix;
4. **look-alikes**: what a common slip would compute, worked out by the exercise from the same
   inputs ("dz = dy: the activation's derivative is missing"), and compared.

None of this knows which mistake a test planted: it reads only the two arrays and the
exercise's regions and look-alikes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: a region agrees when its largest difference is below TOL times the array's scale
TOL = 1e-5


@dataclass
class Region:
    """A named part of an array: ``mask`` selects its entries, ``hint`` says what to check.

    ``label`` reads after "wrong only": "in the forget-gate block (columns u:2u)",
    "within 2 pixels of the border"."""

    label: str
    mask: np.ndarray
    hint: str = ""
    noun: str = "parts"    # what the regions are, in "the other three blocks match"


_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


@dataclass
class Lookalike:
    """What a known slip would compute, and the sentence that names it."""

    value: Any
    message: str


def scale_of(truth: np.ndarray) -> float:
    return max(float(np.max(np.abs(truth))) if truth.size else 0.0, 1e-12)


def rel_error(got: np.ndarray, truth: np.ndarray) -> float:
    """Largest |got - truth| over the largest |truth| (one number for a whole array)."""
    if got.shape != truth.shape:
        return float("inf")
    if not got.size:
        return 0.0
    return float(np.max(np.abs(got - truth))) / scale_of(truth)


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    return a.shape == b.shape and rel_error(a, b) <= tol


def wrong_regions(got: np.ndarray, truth: np.ndarray, regions: list[Region],
                  tol: float = TOL) -> list[Region]:
    """The regions in which some entry differs by more than ``tol`` times the array's scale."""
    limit = tol * scale_of(truth)
    diff = np.abs(got - truth)
    return [r for r in regions if r.mask.any() and float(diff[r.mask].max()) > limit]


def _factor(got: np.ndarray, truth: np.ndarray, tol: float) -> float | None:
    """c when got = c * truth everywhere (c != 1), else None."""
    denom = float((truth * truth).sum())
    if denom == 0:
        return None
    c = float((got * truth).sum()) / denom
    if abs(c - 1) < 1e-3 or abs(c) < 1e-12:
        return None
    return c if _close(got, c * truth, tol * max(1.0, abs(c))) else None


def explain(what: str, got: Any, truth: np.ndarray, *, regions: list[Region] | None = None,
            lookalikes: list[Lookalike] | None = None, factors: dict[float, str] | None = None,
            hint: str = "", tol: float = TOL,
            combos: dict[frozenset[str], str] | None = None) -> str | None:
    """None when ``got`` matches ``truth``; otherwise one sentence saying where and why not.

    ``what`` names the array ("dL/dkernel"); ``factors`` maps a suspicious constant factor
    (e.g. the batch size) to its explanation ("the 1/N of the mean is missing");
    ``combos`` maps a set of wrong region labels to the one term they share.
    """
    truth = np.asarray(truth, dtype=np.float64)
    if got is None:
        return f"{what}: nothing was computed (None). {hint}".strip()
    got = np.asarray(got, dtype=np.float64)
    if got.shape != truth.shape:
        extra = ""
        if got.ndim == 2 and got.shape == truth.shape[::-1]:
            extra = " (transposed: check the order of the product, e.g. xᵀ·dz, not dzᵀ·x)"
        return f"{what} has shape {got.shape}, expected {truth.shape}{extra}."
    if not np.all(np.isfinite(got)):
        return f"{what} contains inf or NaN. {hint}".strip()
    if _close(got, truth, tol):
        return None
    if not np.any(got) and np.any(truth):
        return f"{what} is all zeros: was it written? {hint}".strip()
    for look in lookalikes or []:
        if look.value is not None and _close(got, np.asarray(look.value, np.float64), tol):
            return f"{what}: {look.message}"
    regions = regions or []
    bad = wrong_regions(got, truth, regions, tol)
    if regions and 0 < len(bad) < len(regions):
        good = len(regions) - len(bad)
        names = " and ".join(r.label for r in bad)
        hints = (combos or {}).get(frozenset(r.label for r in bad)) or "; ".join(
            r.hint for r in bad if r.hint)
        noun = bad[0].noun
        rest = ("the rest matches" if good == 1 else
                f"the other {_WORDS.get(good, str(good))} {noun} match")
        return f"{what} is wrong only {names}; {rest}" + (f": {hints}" if hints else ".")
    if _close(got, -truth, tol):
        return f"{what} has the wrong sign everywhere. {hint}".strip()
    c = _factor(got, truth, tol)
    if c is not None:
        for value, why in (factors or {}).items():
            if abs(c - value) <= 1e-6 * max(1.0, abs(value)):
                return f"{what} is {_num(c)} times the right value: {why}"
        return f"{what} is {_num(c)} times the right value everywhere: a constant factor is off. " \
               f"{hint}".strip()
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, truth, tol):
        return f"{what} is the transpose of the right matrix: check the order of the product."
    err = rel_error(got, truth)
    return f"{what} is wrong (largest error {err:.2g} of its scale). {hint}".strip()


def _num(c: float) -> str:
    return f"{c:.6g}" if abs(c) >= 1 else f"1/{1 / c:.6g}" if c > 0 else f"{c:.6g}"


def first_message(messages: list[str | None]) -> str | None:
    return next((m for m in messages if m), None)

"""Small pure functions: summaries of rounds, per-round ratios, targets, worker environments."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.suite.models import Target

#: Set on some machines to pick an older OpenBLAS kernel (and cache size) than the CPU's own.
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
FIGURES = ("train_samples_per_s", "fit_samples_per_s", "predict_samples_per_s")


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median and range of the rounds."""
    if not values:
        raise ValueError("no rounds to summarise")
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def round_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """``a[r] / b[r]`` round by round: rounds of the two frameworks ran back to back, so a
    burst of load from elsewhere hits both sides of one ratio alike."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} rounds against {len(b)}")
    return [x / y for x, y in zip(a, b, strict=True)]


def ratio_summary(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    ratios = round_ratios(a, b)
    return {**summary(ratios), "per_round": ratios}


def worker_envs(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The environments to run workers in: ``as_is`` always, plus ``openblas_unset`` (the same
    without ``OPENBLAS_VARS``) when any of them is set. Returns copies; ``environ`` is left
    alone, and so is this process' environment."""
    envs = {"as_is": dict(environ)}
    if any(v in environ for v in OPENBLAS_VARS):
        envs["openblas_unset"] = {k: v for k, v in environ.items() if k not in OPENBLAS_VARS}
    return envs


def round_order(frameworks: Sequence[str], r: int) -> list[str]:
    """Round ``r`` runs the frameworks rotated by ``r``: A B C, B C A, C A B, ... so that no
    framework always runs right after another one's (or first, after the pause)."""
    k = r % len(frameworks) if frameworks else 0
    return list(frameworks[k:]) + list(frameworks[:k])


def check_target(target: Target, entry: Mapping[str, Any]) -> tuple[str, bool | None]:
    """(measured value as text, met?) for one model's results ``{framework: figures}``;
    ``None`` when a figure it needs is missing (that framework was not run)."""
    mk = entry.get("minikeras", {})
    if target.kind == "gemm_bound":
        frac = mk.get("gemm_bound_fraction")
        if frac is None:
            return "-", None
        return f"{frac:.0%} of the bound", frac >= target.value
    ratio = mk.get("ratio_vs_keras", {}).get("train", {}).get("median")
    if ratio is None:
        return "-", None
    text, met = f"{ratio:.2f}x Keras", ratio >= target.value
    if target.predict is not None:
        pred = mk.get("ratio_vs_keras", {}).get("predict", {}).get("median")
        if pred is None:
            return text + ", predict -", None
        text += f", predict {pred:.2f}x Keras"
        met = met and pred >= target.predict
    if target.beat_torch:
        torch = entry.get("torch", {}).get("train_samples_per_s")
        if torch is None:
            return text + ", PyTorch not run", None if met else False
        per_round = mk.get("ratio_vs_torch", {}).get("train", {}).get("median")
        vs = per_round if per_round is not None else mk["train_samples_per_s"] / torch
        text += f", {vs:.2f}x PyTorch"
        met = met and vs > 1.0
    return text, met


def check_rss(entry: Mapping[str, Any], share: float = 0.25) -> tuple[str, bool | None]:
    mk, k = entry.get("minikeras", {}), entry.get("keras", {})
    if "peak_rss_mb" not in mk or "peak_rss_mb" not in k:
        return "-", None
    frac = mk["peak_rss_mb"] / k["peak_rss_mb"]
    return f"{frac:.0%} of Keras'", frac < share


def yes_no(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "**no**")

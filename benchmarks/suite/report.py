"""The markdown report of a run (``python -m benchmarks --out``), from its JSON figures."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from benchmarks.suite.models import MODELS
from benchmarks.suite.stats import OPENBLAS_VARS, check_rss, check_target, yes_no

IMPORT_TARGET_S = 0.2
FIG_NAMES = {"train": "train_on_batch", "fit": "fit", "predict": "predict"}


def lanes(entry: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(column name, figures) of a model's frameworks, second-environment columns included."""
    for fw, figs in entry.items():
        yield fw, figs
        for env_name, sub in figs.items():
            if isinstance(sub, dict) and sub.get("environment") == env_name:
                yield f"{fw}, {env_name.replace('_', ' ')}", sub


def _rate(figs: Mapping[str, Any], fig: str) -> str:
    lo, hi = figs["range"][fig]
    return f"{figs[fig]:,.0f} [{lo:,.0f}-{hi:,.0f}]"


def _ratio(r: Mapping[str, Any] | None) -> str:
    return "-" if not r else f"{r['median']:.2f}x [{r['min']:.2f}-{r['max']:.2f}]"


def _blas(meta: Mapping[str, Any]) -> list[str]:
    out = []
    for lane, info in (meta.get("workers") or {}).items():
        pools = "; ".join(
            " ".join(str(p[k]) for k in ("internal_api", "version", "architecture") if p.get(k))
            + f" ({p.get('num_threads')} threads, {p.get('prefix')})"
            for p in info.get("threadpools") or [])
        out.append(f"* {lane} worker: {info.get('compute')}; threadpoolctl: "
                   f"{pools or 'not installed'}")
    return out


def _openblas_line(meta: Mapping[str, Any]) -> str:
    env = meta.get("openblas_env", {})
    set_vars = {k: v for k, v in env.items() if v is not None}
    if not set_vars:
        return (f"OpenBLAS environment: {' and '.join(OPENBLAS_VARS)} are not set (NumPy's "
                "OpenBLAS picks its kernel from the CPU): one minikeras column.")
    desc = ", ".join(f"{k}={v}" for k, v in set_vars.items())
    return (f"OpenBLAS environment: {desc}. Figures are as the environment is; the "
            "'minikeras, openblas unset' rows ran in worker processes without these variables "
            "(only minikeras computes with NumPy's OpenBLAS).")


def header(results: Mapping[str, Any], command: str) -> list[str]:
    meta = results["_meta"]
    v = meta["versions"]
    load = ", ".join(f"{x:.2f}" for x in meta["load_average_start"])
    load_end = ", ".join(f"{x:.2f}" for x in meta["load_average_end"])
    gemm = meta["gemm"]
    rates = ", ".join(f"{g['gemm_flops_per_s'] / 1e9:.0f} GFLOP/s ({name.replace('_', ' ')})"
                      for name, g in gemm.items())
    return [
        "# The tutorial models on CPU: minikeras, Keras 3 (TensorFlow), PyTorch", "",
        f"`{command}` on {meta['date']}, {meta['duration_s'] / 60:.1f} min, "
        f"{meta['rounds']} rounds{' (--quick)' if meta['quick'] else ''}. How to read this: "
        "the docstring of `benchmarks/__main__.py`.", "",
        f"* Machine: {meta['cpu']}, {meta['cores']} cores ({meta['usable_cores']} usable), "
        f"{meta['platform']}; load average {load} at the start, {load_end} at the end.",
        f"* Versions: Python {meta['python']}, NumPy {v['numpy']}, minikeras {v['minikeras']} "
        f"(commit {meta['git_commit']}), Keras {v['keras']}, TensorFlow {v['tensorflow']}, "
        f"PyTorch {v['torch'] or 'not installed'}.",
        "* float32 GEMM rate (NumPy, 2048^3 matmul, best of several, "
        + ("at the start of the run" if meta["quick"] else "at the start and the end of the run")
        + f"): {rates}.",
        f"* {_openblas_line(meta)}",
        "* BLAS and thread pools per worker (threadpoolctl):", *["  " + s for s in _blas(meta)],
        "",
    ]


def unset_entry(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """A model's results with minikeras' second-environment figures in its place, if any."""
    sub = entry.get("minikeras", {}).get("openblas_unset")
    return None if sub is None else {**entry, "minikeras": sub}


def targets(results: Mapping[str, Any]) -> list[str]:
    models = list(models_of(results))
    second = any(unset_entry(e) for _, e in models)
    extra = " measured, OpenBLAS variables unset | met? |" if second else ""
    lines = ["## Targets (issue 9)", "",
             "| model | target | measured | met? |" + extra + " peak RSS of minikeras "
             "(target: under a quarter of Keras') | met? |",
             "|---|---|---|---|" + ("---|---|" if second else "") + "---|---|"]
    for key, entry in models:
        target = MODELS[key].target
        text, met = check_target(target, entry)
        cells = [key, target.describe(), text, yes_no(met)]
        if second:
            other = unset_entry(entry)
            text2, met2 = check_target(target, other) if other else ("-", None)
            cells += [text2, yes_no(met2)]
        rss, rss_met = check_rss(entry)
        lines.append("| " + " | ".join(cells + [rss, yes_no(rss_met)]) + " |")
    imp = results["_meta"].get("import_s", {}).get("minikeras")
    if imp:
        met = imp["median_s"] < IMPORT_TARGET_S
        lines.append(f"| `import minikeras` | under {IMPORT_TARGET_S} s | "
                     f"{imp['median_s']:.3f} s | {yes_no(met)} |" + (" | |" if second else "")
                     + " | |")
    return lines + [""]


def models_of(results: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((k, v) for k, v in results.items() if not k.startswith("_"))


def _sizes(figs: Mapping[str, Any]) -> str:
    sz = figs.get("sizes") or {}
    return " / ".join(str(sz.get(k, "-")) for k in ("train_steps", "fit_batches",
                                                     "predict_batches"))


def throughput(results: Mapping[str, Any]) -> list[str]:
    lines = ["## Throughput: samples/s, median of the rounds [slowest-fastest round]", "",
             "Work per call: train_on_batch steps / fit batches / predict batches (fewer for a "
             "framework too slow to do them in about 2 s, see the docstring).", "",
             "| model | framework | train_on_batch | fit (1 epoch) | predict | peak RSS, MB | "
             "start-up to first step, s | work per call |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for key, entry in models_of(results):
        for name, figs in lanes(entry):
            lines.append(
                f"| {key} | {name} | {_rate(figs, 'train_samples_per_s')} | "
                f"{_rate(figs, 'fit_samples_per_s')} | {_rate(figs, 'predict_samples_per_s')} | "
                f"{figs['peak_rss_mb']:,.0f} | {figs['startup_s']:.2f} | {_sizes(figs)} |")
    return lines + [""]


def ratios(results: Mapping[str, Any]) -> list[str]:
    lines = ["## minikeras / other framework, round by round: median [min-max] over the rounds",
             "", "Above 1: minikeras is faster.", "",
             "| model | column | vs | train_on_batch | fit | predict |",
             "|---|---|---|---:|---:|---:|"]
    for key, entry in models_of(results):
        for name, figs in lanes(entry):
            for other in ("keras", "torch"):
                r = figs.get(f"ratio_vs_{other}")
                if r:
                    lines.append(f"| {key} | {name} | {other} | " + " | ".join(
                        _ratio(r.get(f)) for f in FIG_NAMES) + " |")
    return lines + [""]


def _median_range(value: float, rng: list[float], fmt: str = "{:.0%}") -> str:
    return f"{fmt.format(value)} [{fmt.format(rng[0])}-{fmt.format(rng[1])}]"


def gemm_table(results: Mapping[str, Any]) -> list[str]:
    rows = []
    for key, entry in models_of(results):
        for name, figs in lanes(entry):
            if "gemm_fraction" not in figs:
                continue
            flops = figs["train_flops_per_sample"]
            achieved = flops * figs["train_samples_per_s"]
            bound = "-"
            if "gemm_bound_fraction" in figs:
                step_ms = 1e3 * figs["batch"] / figs["train_samples_per_s"]
                bound = (f"{1e3 * figs['gemm_bound_s']:.1f} / {step_ms:.1f}: "
                         + _median_range(figs["gemm_bound_fraction"],
                                         figs["gemm_bound_fraction_range"]))
            rows.append(f"| {key} | {name} | {flops / 1e6:.1f} | {achieved / 1e9:.1f} | "
                        f"{figs['gemm_rate_flops_per_s'] / 1e9:.0f} | "
                        f"{_median_range(figs['gemm_fraction'], figs['gemm_fraction_range'])} "
                        f"| {bound} |")
    if not rows:
        return []
    return ["## GEMM-bound models", "",
            "NumPy's GEMM rate and the CNN's GEMM-only bound were measured in every round, "
            "between the frameworks' rounds; each share is taken round by round against the "
            "measurement of the same round: median [range].", "",
            "| model | framework | MFLOP per training sample | GFLOP/s in train_on_batch | "
            "GEMM rate in the rounds, GFLOP/s | fraction of the GEMM rate | "
            "GEMM-only bound / step, ms: bound as a share of the step |",
            "|---|---|---:|---:|---:|---:|---:|", *rows, ""]


def memory(results: Mapping[str, Any]) -> list[str]:
    """Peak RSS above each worker's start-up baseline against the model's working set."""
    rows = []
    for key, entry in models_of(results):
        ws = (entry.get("minikeras") or {}).get("working_set")
        for name, figs in lanes(entry):
            above = figs.get("rss_above_baseline_mb")
            if above is None:
                continue
            share = f"{above / ws['total_mb']:.1f}x" if ws and ws["total_mb"] > 0 else "-"
            parts = ("-" if not ws else
                     f"{ws['total_mb']:.1f} ({ws['weights_and_grads_mb']:.1f} + "
                     f"{ws['optimizer_state_mb']:.1f} + {ws['activations_mb']:.1f} + "
                     f"{ws['patch_matrices_mb']:.1f})")
            rows.append(f"| {key} | {name} | {figs['baseline_rss_mb']:,.0f} | "
                        f"{figs['peak_rss_mb']:,.0f} | {above:,.0f} | {parts} | {share} |")
    if not rows:
        return []
    return ["## Memory: peak RSS above the start-up baseline vs the analytic working set", "",
            "Baseline: the worker's RSS right after importing its framework (before data and "
            "model). Working set (``benchmarks/suite/memory.py``, at the training batch): "
            "weights and gradients + optimizer state + activations kept for backward + "
            "im2col patch matrices and their gradient. The data arrays of a round (tens of "
            "MB for MNIST) are in every framework's figure above the baseline.", "",
            "| model | framework | baseline, MB | peak, MB | peak above baseline, MB | "
            "working set, MB (weights+grads + optimizer + activations + patches) | "
            "above baseline / working set |",
            "|---|---|---:|---:|---:|---|---:|", *rows, ""]


def imports(results: Mapping[str, Any]) -> list[str]:
    imp = results["_meta"].get("import_s", {})
    if not imp:
        return []
    lines = ["## Import time in a fresh process (interpreter start-up not included)", "",
             "| module | median, s | fastest, s | runs |", "|---|---:|---:|---:|"]
    for fw, t in imp.items():
        lines.append(f"| `import {fw}` | {t['median_s']:.3f} | {t['min_s']:.3f} | "
                     f"{len(t['runs_s'])} |")
    return lines + [""]


def render(results: Mapping[str, Any], command: str) -> str:
    lines = header(results, command) + targets(results) + throughput(results)
    lines += ratios(results) + gemm_table(results) + memory(results) + imports(results)
    errors = results["_meta"].get("errors")
    if errors:
        lines += ["## Errors", "", *[f"* {e.splitlines()[0]}" for e in errors], ""]
    return "\n".join(lines)

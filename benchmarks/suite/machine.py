"""The machine side of a run: environment of the children, versions, CPU, import times,
the GEMM measurement at the start and end of a run."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.suite import REPO
from benchmarks.suite.stats import OPENBLAS_VARS


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus what every child needs: the repository on the path, Keras on TensorFlow,
    TensorFlow's C++ log quiet. The OpenBLAS variables are passed through untouched."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    out.setdefault("KERAS_BACKEND", "tensorflow")
    out.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return out


def run_gemm(env: dict[str, str], models: Sequence[str], repeats: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.suite.gemm", "--models", ",".join(models),
           "--repeats", str(repeats)]
    proc = subprocess.run(cmd, cwd=REPO, env=child_env(env), capture_output=True, text=True,
                          check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"GEMM measurement failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_gemm(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two measurements (start and end of the run): the faster of each, the less loaded."""
    return {**a, "gemm_flops_per_s": max(a["gemm_flops_per_s"], b["gemm_flops_per_s"]),
            "gemm_bound_s": {k: min(v, b["gemm_bound_s"].get(k, v))
                             for k, v in a["gemm_bound_s"].items()}}


IMPORT_MODULE = {"minikeras": "minikeras", "keras": "keras", "torch": "torch"}


def import_seconds(framework: str, env: dict[str, str], repeats: int) -> dict[str, Any]:
    """``import <framework>`` in fresh interpreters (interpreter start-up itself not counted)."""
    module = IMPORT_MODULE[framework]
    code = ("import time; t = time.perf_counter(); import " + module
            + "; print(time.perf_counter() - t)")
    times = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=child_env(env),
                              capture_output=True, text=True, check=False, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"import {module} failed:\n{proc.stderr[-1000:]}")
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    return {"median_s": statistics.median(times), "min_s": min(times), "runs_s": times}


def available(framework: str) -> bool:
    return importlib.util.find_spec(IMPORT_MODULE[framework]) is not None


def _version(*dists: str) -> str | None:
    for d in dists:
        try:
            return importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + (" (with local changes)" if dirty.strip() else "")


def machine_info() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
        "platform": platform.platform(), "python": platform.python_version(),
        "versions": {"numpy": _version("numpy"), "minikeras": _version("minikeras"),
                     "keras": _version("keras"),
                     "tensorflow": _version("tensorflow", "tensorflow-cpu"),
                     "torch": _version("torch"), "threadpoolctl": _version("threadpoolctl")},
        "git_commit": _git_commit(),
        "openblas_env": {v: os.environ.get(v) for v in OPENBLAS_VARS},
        "load_average_start": list(os.getloadavg()),
    }



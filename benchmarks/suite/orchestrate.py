"""The parent process: import times, GEMM rate, then each model's workers, rounds interleaved."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchmarks.suite import REPO
from benchmarks.suite.gemm import bound_fraction, gemm_fraction
from benchmarks.suite.models import MODELS, BenchModel, spec_of
from benchmarks.suite.stats import (
    FIGURES,
    OPENBLAS_VARS,
    ratio_summary,
    round_order,
    summary,
    worker_envs,
)

Log = Callable[[str], None]
READY_TIMEOUT_S = 300.0    # a cold Keras import on a busy machine can take a minute
ROUND_TIMEOUT_S = 600.0


class WorkerError(RuntimeError):
    pass


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus what every child needs: the repository on the path, Keras on TensorFlow,
    TensorFlow's C++ log quiet. The OpenBLAS variables are passed through untouched."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    out.setdefault("KERAS_BACKEND", "tensorflow")
    out.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return out


class Worker:
    """A ``benchmarks.suite.worker`` process and its JSON-lines conversation."""

    def __init__(self, framework: str, model: str, quick: bool, env: dict[str, str],
                 log_dir: Path, extra: Sequence[str] = ()) -> None:
        self.label = f"{model}/{framework}"
        self.stderr_path = log_dir / f"{model}-{framework}-{len(os.listdir(log_dir))}.log"
        self._stderr: IO[bytes] = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        cmd = [sys.executable, "-m", "benchmarks.suite.worker", "--framework", framework,
               "--model", model, "--t0", repr(time.time()), *(["--quick"] if quick else []),
               *extra]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=child_env(env), text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def receive(self, timeout: float) -> dict[str, Any]:
        if not self._sel.select(timeout):
            raise WorkerError(f"{self.label}: no answer within {timeout:.0f} s{self.tail()}")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise WorkerError(f"{self.label}: exited with code {self.proc.returncode}"
                              f"{self.tail()}")
        msg = json.loads(line)
        if msg.get("event") == "error":
            raise WorkerError(f"{self.label}: {msg.get('message')}")
        return msg

    def ask(self, cmd: str, timeout: float = ROUND_TIMEOUT_S) -> dict[str, Any]:
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(f"{self.label}: worker gone{self.tail()}") from exc
        return self.receive(timeout)

    def tail(self, n: int = 1500) -> str:
        """The end of the worker's stderr: its last line first (the exception, usually),
        so that the first line of an error message says what went wrong."""
        self._stderr.flush()
        text = self.stderr_path.read_text(errors="replace")[-n:].strip()
        return f": {text.splitlines()[-1]}\n{text}" if text else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # only this worker's own process
            self.proc.wait(timeout=10)
        self._sel.close()
        self._stderr.close()


@dataclass
class Lane:
    """One column of a model's results: a framework in one environment."""

    framework: str
    env_name: str
    worker: Worker | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in FIGURES})
    peak_rss_mb: float | None = None

    @property
    def name(self) -> str:
        return self.framework if self.env_name == "as_is" else f"{self.framework}[{self.env_name}]"


def lanes_for(bench: BenchModel, frameworks: Sequence[str], env_names: Sequence[str]) -> list[Lane]:
    lanes = []
    for fw in frameworks:
        if fw == "torch" and not bench.torch:
            continue
        lanes.append(Lane(fw, "as_is"))
        # Only NumPy's OpenBLAS reads the OpenBLAS variables: TensorFlow computes with
        # Eigen/oneDNN and PyTorch's wheels with MKL, so only minikeras gets a second column.
        if fw == "minikeras":
            lanes += [Lane(fw, e) for e in env_names if e != "as_is"]
    return lanes


def run_model(bench: BenchModel, frameworks: Sequence[str], rounds: int, quick: bool,
              envs: dict[str, dict[str, str]], log_dir: Path, log: Log,
              errors: list[str]) -> list[Lane]:
    """Start the lanes one after the other (so that no start-up competes with another), one
    warm-up round, then ``rounds`` rounds in rotating order; return the lanes that finished."""
    lanes = lanes_for(bench, frameworks, list(envs))
    weights = log_dir / f"{bench.key}-initial.npz"
    alive: list[Lane] = []
    try:
        for lane in lanes:
            extra: list[str] = []
            if lane.framework == "minikeras" and lane.env_name == "as_is":
                extra = ["--save-weights", str(weights)]
            elif lane.framework == "keras" and weights.exists():
                extra = ["--load-weights", str(weights)]
            try:
                lane.worker = Worker(lane.framework, bench.key, quick, envs[lane.env_name],
                                     log_dir, extra)
                lane.ready = lane.worker.receive(READY_TIMEOUT_S)
                alive.append(lane)
                log(f"  {lane.name:<28} ready, start-up {lane.ready['startup_s']:.2f} s")
            except WorkerError as exc:
                errors.append(str(exc))
                log(f"  {lane.name}: FAILED to start ({str(exc).splitlines()[0]})")
        for r in range(-1, rounds):  # round -1 is the warm-up (Keras traces its functions)
            for lane in round_order(list(alive), max(r, 0)):
                try:
                    msg = lane.worker.ask("round")
                except WorkerError as exc:
                    errors.append(str(exc))
                    log(f"  {lane.name}: FAILED in round {r + 1}; dropped")
                    alive.remove(lane)
                    continue
                if r >= 0:
                    for f in FIGURES:
                        lane.rounds[f].append(msg[f])
            if r >= 0:
                log(f"  round {r + 1}/{rounds}: " + ", ".join(
                    f"{lane.name} {lane.rounds['train_samples_per_s'][-1]:,.0f}"
                    for lane in alive) + " train samples/s")
        for lane in list(alive):
            try:
                lane.peak_rss_mb = lane.worker.ask("exit", 60)["peak_rss_mb"]
            except WorkerError as exc:
                errors.append(str(exc))
                alive.remove(lane)
    finally:
        for lane in lanes:
            if lane.worker is not None:
                lane.worker.close()
    return alive


def figures(bench: BenchModel, lanes: Sequence[Lane], gemm: dict[str, dict[str, Any]],
            batch: int) -> dict[str, dict[str, Any]]:
    """``{framework: {figure: value}}`` of one model; a second-environment lane goes inside
    its framework's entry, under its environment's name."""
    out: dict[str, dict[str, Any]] = {}
    by_name = {lane.name: lane for lane in lanes}
    for lane in lanes:
        entry: dict[str, Any] = {f: summary(lane.rounds[f])["median"] for f in FIGURES}
        entry.update({
            "peak_rss_mb": lane.peak_rss_mb, "startup_s": lane.ready["startup_s"],
            "import_in_worker_s": lane.ready["import_s"],
            "range": {f: [min(lane.rounds[f]), max(lane.rounds[f])] for f in FIGURES},
            "rounds": lane.rounds, "environment": lane.env_name, "batch": batch})
        if lane.framework == "keras":
            entry["same_initial_weights"] = lane.ready["same_initial_weights"]
        if lane.framework == "minikeras":
            for other in ("keras", "torch"):
                if other in by_name:
                    entry[f"ratio_vs_{other}"] = {
                        f.split("_")[0]: ratio_summary(lane.rounds[f], by_name[other].rounds[f])
                        for f in FIGURES}
        g = gemm.get(lane.env_name) or gemm["as_is"]
        flops = g["flops_per_sample"].get(bench.key)
        if bench.gemm and flops:
            entry["train_flops_per_sample"] = flops
            entry["gemm_fraction"] = gemm_fraction(flops, entry["train_samples_per_s"],
                                                   g["gemm_flops_per_s"])
        if bench.key in g["gemm_bound_s"]:
            entry["gemm_bound_s"] = g["gemm_bound_s"][bench.key]
            entry["gemm_bound_fraction"] = bound_fraction(g["gemm_bound_s"][bench.key], batch,
                                                          entry["train_samples_per_s"])
        if lane.env_name == "as_is":
            out[lane.framework] = entry
        else:
            out.setdefault(lane.framework, {})[lane.env_name] = entry
    return out


# --------------------------------------------------------------------------- machine side
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


def import_seconds(module: str, env: dict[str, str], repeats: int) -> dict[str, Any]:
    """``import module`` in fresh interpreters (interpreter start-up itself not counted)."""
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


def _cpu_model() -> str:
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
        "cpu": _cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
        "platform": platform.platform(), "python": platform.python_version(),
        "versions": {"numpy": _version("numpy"), "minikeras": _version("minikeras"),
                     "keras": _version("keras"),
                     "tensorflow": _version("tensorflow", "tensorflow-cpu"),
                     "torch": _version("torch"), "threadpoolctl": _version("threadpoolctl")},
        "git_commit": _git_commit(),
        "openblas_env": {v: os.environ.get(v) for v in OPENBLAS_VARS},
        "load_average_start": list(os.getloadavg()),
    }


def run(models: Sequence[str], frameworks: Sequence[str], rounds: int, quick: bool,
        log: Log) -> dict[str, Any]:
    """Everything, as ``{model: {framework: figures}, "_meta": {...}}``."""
    t_start = time.perf_counter()
    meta = machine_info()
    envs = worker_envs(os.environ)
    errors: list[str] = []
    repeats = 1 if quick else 3
    log("import times (fresh processes)...")
    meta["import_s"] = {fw: import_seconds(IMPORT_MODULE[fw], envs["as_is"],
                                           repeats + (0 if fw != "minikeras" else 2))
                        for fw in frameworks}
    gemm_models = [m for m in models if MODELS[m].gemm]
    log("GEMM rate" + (f" and bounds ({', '.join(gemm_models)})" if gemm_models else "") + "...")
    gemm = {name: run_gemm(env, gemm_models, 3 if quick else 5) for name, env in envs.items()}
    lanes_by_model: dict[str, list[Lane]] = {}
    with tempfile.TemporaryDirectory(prefix="minikeras-bench-") as tmp:
        for key in models:
            log(f"{MODELS[key].title}:")
            lanes_by_model[key] = run_model(MODELS[key], frameworks, rounds, quick, envs,
                                            Path(tmp), log, errors)
    if not quick:  # measured again at the end: keep the less loaded of the two
        gemm = {name: best_gemm(gemm[name], run_gemm(env, gemm_models, 5))
                for name, env in envs.items()}
    results: dict[str, Any] = {}
    threadpools: dict[str, Any] = {}
    for key, lanes in lanes_by_model.items():
        results[key] = figures(MODELS[key], lanes, gemm, spec_of(MODELS[key]).batch_size)
        for lane in lanes:
            threadpools.setdefault(lane.name, lane.ready.get("threadpools"))
    meta.update({"gemm": gemm, "threadpools": threadpools, "errors": errors,
                 "load_average_end": list(os.getloadavg()), "rounds": rounds, "quick": quick,
                 "models": list(models), "frameworks": list(frameworks),
                 "duration_s": time.perf_counter() - t_start})
    results["_meta"] = meta
    return results

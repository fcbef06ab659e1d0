"""The parent process: import times, GEMM rate, then each model's workers, rounds interleaved."""

from __future__ import annotations

import json
import os
import selectors
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
from benchmarks.suite.machine import (
    best_gemm,
    child_env,
    import_seconds,
    machine_info,
    run_gemm,
)
from benchmarks.suite.models import MODELS, BenchModel, spec_of
from benchmarks.suite.stats import (
    FIGURES,
    ratio_summary,
    round_order,
    summary,
    worker_envs,
)

Log = Callable[[str], None]
READY_TIMEOUT_S = 300.0    # a cold Keras import on a busy machine can take a minute
ROUND_TIMEOUT_S = 600.0
# by --quick: each timed call repeats for at least MIN_PHASE_S and is cut to about MAX_PHASE_S
MIN_PHASE_S = {False: 0.25, True: 0.05}
MAX_PHASE_S = {False: 2.0, True: 0.5}


class WorkerError(RuntimeError):
    pass


class Worker:
    """A ``benchmarks.suite.worker`` process and its JSON-lines conversation."""

    def __init__(self, framework: str, model: str, quick: bool, env: dict[str, str],
                 log_dir: Path, extra: Sequence[str] = ()) -> None:
        self.label = f"{model}/{framework}"
        self.stderr_path = log_dir / f"{model}-{framework}-{len(os.listdir(log_dir))}.log"
        self._stderr: IO[bytes] = open(self.stderr_path, "wb")  # closed in close()
        cmd = [sys.executable, "-m", "benchmarks.suite.worker", "--framework", framework,
               "--model", model, "--t0", repr(time.time()), *(["--quick"] if quick else []),
               *extra]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=child_env(env), text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def receive(self, timeout: float) -> dict[str, Any]:
        # select() sees the pipe, not the text buffer above it: this is sound because a
        # worker writes exactly one line per command, so no second line waits in the buffer.
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
    """One column of a model's results: a framework in one environment (or the ``gemm``
    probe, which measures what NumPy's BLAS can do, between the frameworks' rounds)."""

    framework: str
    env_name: str
    worker: Worker | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)
    peak_rss_mb: float | None = None

    @property
    def name(self) -> str:
        return self.framework if self.env_name == "as_is" else f"{self.framework}[{self.env_name}]"

    def last(self) -> str:
        if self.framework == "gemm":
            return f"{self.name} {self.rounds['gemm_flops_per_s'][-1] / 1e9:.0f} GFLOP/s"
        return f"{self.name} {self.rounds['train_samples_per_s'][-1]:,.0f}/s"


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
    if bench.gemm:
        lanes += [Lane("gemm", e) for e in env_names]
    return lanes


def run_model(bench: BenchModel, frameworks: Sequence[str], rounds: int, quick: bool,
              envs: dict[str, dict[str, str]], log_dir: Path, log: Log,
              errors: list[str]) -> list[Lane]:
    """Start the lanes one after the other (so that no start-up competes with another), one
    warm-up round, then ``rounds`` rounds in rotating order; return the lanes that finished."""
    lanes = lanes_for(bench, frameworks, list(envs))
    weights = log_dir / f"{bench.key}-initial.npz"
    min_phase = ["--min-phase-s", str(MIN_PHASE_S[quick]), "--max-phase-s",
                 str(MAX_PHASE_S[quick])]
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
                                     log_dir, extra + min_phase)
                lane.ready = lane.worker.receive(READY_TIMEOUT_S)
                alive.append(lane)
                log(f"  {lane.name:<28} ready, start-up {lane.ready['startup_s']:.2f} s")
            except WorkerError as exc:
                errors.append(str(exc))
                log(f"  {lane.name}: FAILED to start ({str(exc).splitlines()[0]})")
        for r in range(-1, rounds):  # round -1 is the warm-up (Keras traces its functions)
            for lane in round_order(list(alive), max(r, 0)):
                try:
                    msg = lane.worker.ask("warmup" if r < 0 else "round")
                except WorkerError as exc:
                    errors.append(str(exc))
                    log(f"  {lane.name}: FAILED in round {r + 1}; dropped")
                    alive.remove(lane)
                    continue
                if r < 0:
                    lane.ready.update(msg)  # the sizes the warm-up chose
                    continue
                for k, v in msg.items():
                    if k != "event":
                        lane.rounds.setdefault(k, []).append(v)
            if r >= 0:
                log(f"  round {r + 1}/{rounds}, train samples/s: "
                    + ", ".join(lane.last() for lane in alive))
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


def _spread(values: Sequence[float]) -> tuple[float, list[float]]:
    s = summary(values)
    return s["median"], [s["min"], s["max"]]


def gemm_figures(key: str, train: Sequence[float], probe: Lane | None,
                 measured: dict[str, Any], batch: int) -> dict[str, Any]:
    """GEMM shares of one framework's training rounds, round by round against the probe's
    round next to it (or, if the probe failed, against the start/end measurement)."""
    n = len(train)
    if probe is not None:
        rates, bounds = probe.rounds["gemm_flops_per_s"], probe.rounds.get("gemm_bound_s")
    else:
        rates = [measured["gemm_flops_per_s"]] * n
        bound = measured["gemm_bound_s"].get(key)
        bounds = None if bound is None else [bound] * n
    flops = measured["flops_per_sample"][key]
    out: dict[str, Any] = {"train_flops_per_sample": flops}
    out["gemm_rate_flops_per_s"], _ = _spread(rates)
    out["gemm_fraction"], out["gemm_fraction_range"] = _spread(
        [gemm_fraction(flops, t, r) for t, r in zip(train, rates, strict=True)])
    if bounds:
        out["gemm_bound_s"], _ = _spread(bounds)
        out["gemm_bound_fraction"], out["gemm_bound_fraction_range"] = _spread(
            [bound_fraction(b, batch, t) for t, b in zip(train, bounds, strict=True)])
    return out


def figures(bench: BenchModel, lanes: Sequence[Lane], gemm: dict[str, dict[str, Any]],
            batch: int) -> dict[str, dict[str, Any]]:
    """``{framework: {figure: value}}`` of one model; a second-environment lane goes inside
    its framework's entry, under its environment's name."""
    out: dict[str, dict[str, Any]] = {}
    probes = {lane.env_name: lane for lane in lanes if lane.framework == "gemm"}
    by_name = {lane.name: lane for lane in lanes if lane.framework != "gemm"}
    for lane in by_name.values():
        entry: dict[str, Any] = {f: summary(lane.rounds[f])["median"] for f in FIGURES}
        entry.update({
            "peak_rss_mb": lane.peak_rss_mb, "startup_s": lane.ready["startup_s"],
            "baseline_rss_mb": lane.ready.get("baseline_rss_mb"),
            "rss_above_baseline_mb": (None if lane.peak_rss_mb is None
                                      or lane.ready.get("baseline_rss_mb") is None
                                      else lane.peak_rss_mb - lane.ready["baseline_rss_mb"]),
            "import_in_worker_s": lane.ready["import_s"],
            "range": {f: [min(lane.rounds[f]), max(lane.rounds[f])] for f in FIGURES},
            "rounds": lane.rounds, "environment": lane.env_name, "batch": batch,
            "compute": lane.ready.get("compute"),
            "sizes": {k: lane.ready.get(k) for k in ("train_steps", "fit_batches",
                                                     "predict_batches")}})
        if "working_set" in lane.ready:
            entry["working_set"] = lane.ready["working_set"]
        if lane.framework == "keras":
            entry["same_initial_weights"] = lane.ready["same_initial_weights"]
        if lane.framework == "minikeras":
            for other in ("keras", "torch"):
                if other in by_name:
                    entry[f"ratio_vs_{other}"] = {
                        f.split("_")[0]: ratio_summary(lane.rounds[f], by_name[other].rounds[f])
                        for f in FIGURES}
        measured = gemm.get(lane.env_name) or gemm["as_is"]
        if bench.gemm and bench.key in measured["flops_per_sample"]:
            entry.update(gemm_figures(bench.key, lane.rounds["train_samples_per_s"],
                                      probes.get(lane.env_name), measured, batch))
        if lane.env_name == "as_is":
            out[lane.framework] = entry
        else:
            out.setdefault(lane.framework, {})[lane.env_name] = entry
    return out


def run(models: Sequence[str], frameworks: Sequence[str], rounds: int, quick: bool,
        log: Log) -> dict[str, Any]:
    """Everything, as ``{model: {framework: figures}, "_meta": {...}}``."""
    t_start = time.perf_counter()
    meta = machine_info()
    envs = worker_envs(os.environ)
    errors: list[str] = []
    log("import times (fresh processes)...")
    # minikeras' import is short, so its median needs more runs to be steady
    meta["import_s"] = {}
    for fw in frameworks:
        try:
            meta["import_s"][fw] = import_seconds(fw, envs["as_is"], (1 if quick else 3)
                                                  + (2 if fw == "minikeras" else 0))
        except RuntimeError as exc:
            errors.append(str(exc))
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
    workers: dict[str, Any] = {}
    for key, lanes in lanes_by_model.items():
        results[key] = figures(MODELS[key], lanes, gemm, spec_of(MODELS[key]).batch_size)
        for lane in lanes:
            workers.setdefault(lane.name, {"threadpools": lane.ready.get("threadpools"),
                                           "compute": lane.ready.get("compute"),
            "sizes": {k: lane.ready.get(k) for k in ("train_steps", "fit_batches",
                                                     "predict_batches")}})
    meta.update({"gemm": gemm, "workers": workers, "errors": errors,
                 "load_average_end": list(os.getloadavg()), "rounds": rounds, "quick": quick,
                 "models": list(models), "frameworks": list(frameworks),
                 "duration_s": time.perf_counter() - t_start})
    results["_meta"] = meta
    return results

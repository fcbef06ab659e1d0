"""The GPU check: the same layer code on NumPy and CuPy, compared, then timed.

    python -m benchmarks.gpu_check --out benchmarks/results/gpu_<date>

1. prints the device and library versions;
2. for every layer case of ``benchmarks.gpu_models.LAYER_CASES`` whose class exists: forward
   and backward on NumPy and on CuPy from the same weights, compared in float32 (relative
   error ``max|a - b| / max(1, max|a|)`` <= 1e-5), and a float64 finite-difference gradient
   check on CuPy;
3. times one training step of each of the six tutorial models on NumPy (this host's CPU), on
   CuPy, and on the equivalent PyTorch model on the same GPU (when torch has CUDA), after a
   warm-up (CuPy compiles each kernel on first use) and with a device synchronisation before
   each clock read;
4. writes ``gpu_check.md`` (tables) and ``gpu_check.json`` to ``--out``, after each section.

Every section and case runs in its own try/except: an error is recorded and the check goes
on. ``--budget-s`` bounds the whole run (layers get the first half); what does not fit is
marked skipped. Without CuPy or a GPU it runs NumPy only and says why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import minikeras as mk
from benchmarks.gpu_models import LAYER_CASES, MODELS, LayerCase, ModelCase, case_inputs
from benchmarks.suite.machine import cpu_model
from minikeras import backend
from minikeras.utils import check_layer_gradients

TOL = 1e-5
DEFAULT_BASELINE = Path(__file__).parent / "results" / "gpu_check_numpy_2core.json"


def log(msg: str) -> None:
    print(msg, flush=True)


def _err(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Report:
    """Results so far; written to disk after every section."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.out = out
        self.start = time.monotonic()
        self.budget_s = budget_s
        self.data: dict[str, Any] = {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "device": "CPU only", "versions": {}, "layers": [], "training": [], "timings": [],
            "errors": [],
            "notes": [],
        }

    def left(self, frac: float = 1.0) -> float:
        return self.start + self.budget_s * frac - time.monotonic()

    def error(self, where: str, exc: BaseException) -> None:
        msg = f"{where}: {_err(exc)}"
        self.data["errors"].append(msg)
        log(f"  ERROR {msg}")

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.data["elapsed_s"] = round(time.monotonic() - self.start, 1)
        (self.out / "gpu_check.json").write_text(json.dumps(self.data, indent=1, default=float))
        (self.out / "gpu_check.md").write_text(markdown(self.data))


# --------------------------------------------------------------------------- 1 versions
def cupy_problem() -> str | None:
    """None if the CuPy backend can be switched on here, else why not."""
    try:
        backend.set_backend("cupy")
        return None
    except Exception as exc:
        return str(exc)
    finally:
        backend.set_backend("numpy")


def torch_problem() -> str | None:
    try:
        import torch
    except Exception as exc:
        return f"torch not importable ({type(exc).__name__}: {exc})"
    return None if torch.cuda.is_available() else "torch has no CUDA device"


def _threads() -> int | None:
    """Threads NumPy's BLAS may use (the environment caps them; else one per core)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count()


def versions(report: Report, use_cupy: bool, use_torch: bool) -> None:
    v: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(),
                         "cpu_count": os.cpu_count(), "numpy": np.__version__,
                         "cpu": cpu_model(), "blas_threads": _threads(),
                         "minikeras": mk.__version__}
    if use_cupy:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        v["device"] = name.decode() if isinstance(name, bytes) else str(name)
        v["device_memory_gib"] = round(props.get("totalGlobalMem", 0) / 2**30, 1)
        v["cupy"] = cupy.__version__
        v["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        v["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        report.data["device"] = v["device"]
    if use_torch:
        import torch

        v["torch"] = torch.__version__
        v["torch_cuda"] = torch.version.cuda
        v["torch_device"] = torch.cuda.get_device_name(0)
        if report.data["device"] == "CPU only":
            report.data["device"] = v["torch_device"]
    report.data["versions"] = v
    for k, val in v.items():
        log(f"  {k}: {val}")


# --------------------------------------------------------------------------- 2 layers
def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else [v]


def run_layer(case: LayerCase, name: str, xs: list[np.ndarray], upstream: list | None,
              weights: list[np.ndarray] | None) -> dict[str, Any]:
    """Forward + backward of a fresh layer on backend ``name``; everything back as NumPy."""
    backend.set_backend(name)
    try:
        layer = case.make(mk.layers)
        shapes = [tuple(x.shape) for x in xs]
        layer.build_for(shapes if isinstance(case.shapes, list) else shapes[0])
        if weights is not None:
            layer.set_weights(weights)
        dev = [backend.to_device(x) for x in xs]
        out = _as_list(layer.forward(dev if isinstance(case.shapes, list) else dev[0],
                                     training=case.training))
        if upstream is None:  # the reference run draws the upstream gradient
            rng = np.random.default_rng(1)
            upstream = [rng.standard_normal(tuple(o.shape)).astype(o.dtype) for o in out]
        layer.zero_grads()
        g = [backend.to_device(u) for u in upstream]
        dx = _as_list(layer.backward(g if len(g) > 1 else g[0]))
        return {"out": [backend.to_numpy(o) for o in out],
                "dx": [None if d is None else backend.to_numpy(d) for d in dx],
                "grads": [backend.to_numpy(w.grad) for w in layer.trainable_weights],
                "weights": layer.get_weights(), "upstream": upstream}
    finally:
        backend.set_backend("numpy")


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} (NumPy) != {b.shape} (device)")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a)))))


def compare_layer(case: LayerCase, device: str, grad_entries: int = 12) -> dict[str, Any]:
    """NumPy vs ``device`` in float32 from the same weights, and a float64 gradient check on
    ``device``. Returns a row for the report (``ok`` False on any mismatch)."""
    row: dict[str, Any] = {"layer": case.cls, "case": case.label, "device": device}
    old = backend.floatx()
    try:
        backend.set_floatx("float32")
        xs = [x.astype(np.float32) for x in case_inputs(case)]
        ref = run_layer(case, "numpy", xs, None, None)
        got = run_layer(case, device, xs, ref["upstream"], ref["weights"])
        errs = {}
        for key in ("out", "dx", "grads"):
            for i, (a, b) in enumerate(zip(ref[key], got[key], strict=True)):
                if (a is None) != (b is None):
                    raise ValueError(f"{key}[{i}] is None on one backend only")
                if a is not None:
                    errs[f"{key}[{i}]"] = rel_err(a, b)
        row["max_rel_err_f32"] = max(errs.values()) if errs else 0.0
        row["worst"] = max(errs, key=errs.get) if errs else ""
        backend.set_floatx("float64")
        backend.set_backend(device)
        try:
            layer = case.make(mk.layers)
            xs64 = [backend.to_device(x) for x in case_inputs(case)]
            gc = check_layer_gradients(layer, xs64 if isinstance(case.shapes, list) else xs64[0],
                                       training=case.training, max_entries=grad_entries)
            row["grad_check_max_abs_err_f64"] = max(gc.values()) if gc else 0.0
        finally:
            backend.set_backend("numpy")
        row["ok"] = row["max_rel_err_f32"] <= TOL
    except Exception as exc:
        row["ok"], row["error"] = False, _err(exc)
    finally:
        backend.set_floatx(old)
        backend.set_backend("numpy")
    return row


def _pick(csv: str) -> set[str] | None:
    names = {n.strip() for n in csv.split(",") if n.strip()}
    return names or None


def layer_section(report: Report, device: str, only: set[str] | None = None) -> None:
    for case in LAYER_CASES:
        if only is not None and case.label not in only:
            continue
        if getattr(mk.layers, case.cls, None) is None:
            report.data["layers"].append({"layer": case.cls, "case": case.label,
                                          "skipped": "not in minikeras.layers"})
            continue
        if report.left(0.5) <= 0:
            report.data["layers"].append({"layer": case.cls, "case": case.label,
                                          "skipped": "time budget"})
            continue
        t0 = time.monotonic()
        row = compare_layer(case, device)
        row["seconds"] = round(time.monotonic() - t0, 2)
        report.data["layers"].append(row)
        status = "ok" if row["ok"] else "FAIL " + row.get("error", f"err {row.get('worst')}")
        log(f"  {case.label:32s} f32 rel err {row.get('max_rel_err_f32', float('nan')):.2e}  "
            f"f64 grad err {row.get('grad_check_max_abs_err_f64', float('nan')):.2e}  {status}")


def compare_training(case: ModelCase, device: str, steps: int = 3) -> dict[str, Any]:
    """A few train_on_batch steps of a tutorial model on NumPy and on ``device`` from the same
    seed: initial weights must be identical, losses and weights equal to 1e-4 (relative)."""
    def run(name: str) -> tuple[list, list[float], list]:
        backend.set_backend(name)
        try:
            backend.set_seed(0)
            model = case.build(mk)
            x, y = case.data(np.random.default_rng(0))
            first = model.get_weights()
            losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(steps)]
            return first, losses, model.get_weights()
        finally:
            backend.set_backend("numpy")

    row: dict[str, Any] = {"model": case.key, "device": device, "steps": steps}
    try:
        (w0a, la, wa), (w0b, lb, wb) = run("numpy"), run(device)
        row["initial_weights_identical"] = all(np.array_equal(a, b) for a, b in
                                               zip(w0a, w0b, strict=True))
        row["loss_rel_err"] = max(rel_err(np.array([a]), np.array([b])) for a, b in
                                  zip(la, lb, strict=True))
        row["weights_rel_err"] = max(rel_err(a, b) for a, b in zip(wa, wb, strict=True))
        row["losses"] = {"numpy": la, device: lb}
        row["ok"] = (row["initial_weights_identical"] and row["loss_rel_err"] <= 1e-4
                     and row["weights_rel_err"] <= 1e-4)
    except Exception as exc:
        row["ok"], row["error"] = False, _err(exc)
    return row


def training_section(report: Report, device: str, only: set[str] | None) -> None:
    for case in MODELS:
        if only is not None and case.key not in only:
            continue
        if report.left(0.6) <= 0:
            report.data["training"].append({"model": case.key, "skipped": "time budget"})
            continue
        row = compare_training(case, device)
        report.data["training"].append(row)
        log(f"  {case.key:12s} loss rel err {row.get('loss_rel_err', float('nan')):.1e}  "
            f"weights rel err {row.get('weights_rel_err', float('nan')):.1e}  "
            f"{'ok' if row['ok'] else 'FAIL ' + row.get('error', '')}")


# --------------------------------------------------------------------------- 3 timings
def time_step(step: Callable[[], Any], sync: Callable[[], Any], deadline: float,
              min_time: float = 0.25, warmup: int = 2, rounds: int = 3) -> dict[str, Any]:
    """Median seconds per step over ``rounds`` rounds of n steps (n fills ``min_time``)."""
    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    step()
    sync()
    one = time.perf_counter() - t0
    n = max(1, min(200, int(min_time / max(one, 1e-6))))
    samples = []
    for _ in range(rounds):
        if samples and time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        sync()
        samples.append((time.perf_counter() - t0) / n)
    return {"ms": statistics.median(samples) * 1e3, "steps": n, "rounds": len(samples)}


def time_minikeras(case: ModelCase, name: str, deadline: float) -> dict[str, Any]:
    backend.set_backend(name)
    try:
        backend.set_seed(0)
        model = case.build(mk)
        x, y = case.data(np.random.default_rng(0))
        model.train_on_batch(x, y)      # builds the model, its metrics and the optimizer state
        bx, by = [backend.to_device(x)], [backend.to_device(y)]
        res = time_step(lambda: model._train_step(bx, by), backend.synchronize, deadline)
        # the step as fit() runs it from host data: upload, step, loss read back
        res["train_on_batch_ms"] = time_step(lambda: model.train_on_batch(x, y),
                                             backend.synchronize, deadline, 0.1, 1, 1)["ms"]
        return res
    finally:
        backend.set_backend("numpy")


def time_torch(case: ModelCase, deadline: float) -> dict[str, Any]:
    import torch

    # float32 as minikeras computes it (no TF32 shortcut in matmul or convolution)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    x, y = case.data(np.random.default_rng(0))
    step = case.torch_build(torch, x, y)
    return time_step(step, torch.cuda.synchronize, deadline)


ORDER = ("cnn", "mlp", "autoencoder", "rnn", "lstm", "regression")  # the 10x target first


def timing_section(report: Report, names: list[str], use_torch: bool,
                   only: set[str] | None = None) -> None:
    models = [c for c in MODELS if only is None or c.key in only]
    rows = {c.key: {"model": c.key, "title": c.title, "batch": c.batch} for c in models}
    report.data["timings"] = [rows[c.key] for c in models]
    cases = sorted(models, key=lambda c: ORDER.index(c.key) if c.key in ORDER else 99)
    for case in cases:
        row = rows[case.key]
        runs: list[tuple[str, Callable[[float], dict[str, Any]]]] = [
            (n, lambda d, n=n, c=case: time_minikeras(c, n, d)) for n in names]
        if use_torch:
            runs.append(("torch", lambda d, c=case: time_torch(c, d)))
        for label, run in runs:
            if report.left() <= 5:
                row[label] = {"skipped": "time budget"}
                continue
            try:
                row[label] = run(time.monotonic() + min(report.left(), 20.0))
                log(f"  {case.key:12s} {label:6s} {row[label]['ms']:9.3f} ms/step")
            except Exception as exc:
                row[label] = {"error": _err(exc)}
                report.error(f"timing {case.key}/{label}", exc)
        report.save()


def add_baseline(report: Report, path: Path | None) -> None:
    """Attach the NumPy timings of an earlier CPU-only run (the issue's 2-core machine)."""
    if path is None or not path.exists():
        return
    base = json.loads(path.read_text())
    by_key = {r["model"]: r.get("numpy", {}).get("ms") for r in base.get("timings", [])}
    bv = base.get("versions", {})
    report.data["cpu_baseline"] = {"file": str(path), "date": base.get("date"),
                                   "threads": bv.get("blas_threads", bv.get("cpu_count")),
                                   "cpu": bv.get("cpu")}
    for row in report.data["timings"]:
        if by_key.get(row["model"]):
            row["numpy_baseline_ms"] = by_key[row["model"]]


# --------------------------------------------------------------------------- 4 report
def _ms(row: dict[str, Any], key: str) -> float | None:
    v = row.get(key)
    return v.get("ms") if isinstance(v, dict) else v


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "–" if v is None else format(v, spec)


def markdown(data: dict[str, Any]) -> str:
    v = data.get("versions", {})
    lines = [f"# minikeras GPU check — {data.get('device')} — {data.get('date')}", "",
             "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()), ""]
    lines += ["## Layers: NumPy vs device (float32), gradient check on device (float64)", "",
              "| layer | case | device | max rel err f32 | grad check max abs err f64 | result |",
              "|---|---|---|---|---|---|"]
    for r in data.get("layers", []):
        if "skipped" in r:
            lines.append(f"| {r['layer']} | {r['case']} | | | | skipped: {r['skipped']} |")
            continue
        res = "ok" if r.get("ok") else "**FAIL** " + r.get("error", f"worst {r.get('worst')}")
        lines.append(f"| {r['layer']} | {r['case']} | {r['device']} | "
                     f"{_fmt(r.get('max_rel_err_f32'), '.1e')} | "
                     f"{_fmt(r.get('grad_check_max_abs_err_f64'), '.1e')} | {res} |")
    if data.get("training"):
        lines += ["", "## Training: 3 steps, NumPy vs device from the same initial weights", "",
                  "| model | device | initial weights identical | loss rel err | weights rel err"
                  " | result |", "|---|---|---|---|---|---|"]
        for r in data["training"]:
            res = (f"skipped: {r['skipped']}" if "skipped" in r else "ok" if r.get("ok")
                   else "**FAIL** " + r.get("error", ""))
            lines.append(f"| {r['model']} | {r.get('device', '')} | "
                         f"{r.get('initial_weights_identical', '')} | "
                         f"{_fmt(r.get('loss_rel_err'), '.1e')} | "
                         f"{_fmt(r.get('weights_rel_err'), '.1e')} | {res} |")
    base = data.get("cpu_baseline")
    lines += ["", "## One training step (ms, median; device data, synchronised)", ""]
    threads = v.get("blas_threads", v.get("cpu_count"))
    head = ["model", "batch", f"NumPy CPU ({threads} threads)", "CuPy", "PyTorch",
            "CuPy vs NumPy", "CuPy / PyTorch", "CuPy train_on_batch"]
    if base:
        head += [f"NumPy baseline ({base.get('threads')} threads, {base.get('cpu')})",
                 "CuPy vs baseline"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in data.get("timings", []):
        n, c, t = _ms(r, "numpy"), _ms(r, "cupy"), _ms(r, "torch")
        cells = [r["title"], str(r["batch"]), _fmt(n), _fmt(c), _fmt(t),
                 _fmt(n / c if n and c else None, ".1f") + "x",
                 _fmt(c / t if c and t else None, ".2f") + "x",
                 _fmt((r.get("cupy") or {}).get("train_on_batch_ms"))]
        if base:
            b = r.get("numpy_baseline_ms")
            cells += [_fmt(b), _fmt(b / c if b and c else None, ".1f") + "x"]
        lines.append("| " + " | ".join(cells) + " |")
    for key in ("notes", "errors"):
        if data.get(key):
            lines += ["", f"## {key.title()}", ""] + [f"- {e}" for e in data[key]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for gpu_check.{md,json}")
    ap.add_argument("--backends", default="numpy,cupy,torch",
                    help="comma list among numpy, cupy, torch (default: all three)")
    ap.add_argument("--budget-s", type=float, default=300.0, help="wall-clock budget")
    ap.add_argument("--layers", default="", help="comma list of layer case labels (all)")
    ap.add_argument("--models", default="", help="comma list of model keys (all six)")
    ap.add_argument("--no-layers", action="store_true", help="skip the layer comparison")
    ap.add_argument("--no-timings", action="store_true", help="skip the model timings")
    ap.add_argument("--cpu-baseline", type=Path, default=DEFAULT_BASELINE,
                    help="gpu_check.json of a NumPy-only run to compare with")
    args = ap.parse_args(argv)
    want = {b.strip() for b in args.backends.split(",") if b.strip()}
    report = Report(args.out, args.budget_s)
    log(f"minikeras GPU check -> {args.out} (budget {args.budget_s:.0f} s)")

    use_cupy = "cupy" in want
    if use_cupy and (why := cupy_problem()):
        use_cupy = False
        report.data["notes"].append(f"CuPy backend unavailable, NumPy only: {why}")
        log(f"  CuPy backend unavailable, NumPy only: {why}")
    use_torch = "torch" in want
    if use_torch and (why := torch_problem()):
        use_torch = False
        report.data["notes"].append(f"PyTorch timing skipped: {why}")
    log("1. versions")
    try:
        versions(report, use_cupy, use_torch)
    except Exception as exc:
        report.error("versions", exc)
    report.save()

    device = "cupy" if use_cupy else "numpy"
    if not args.no_layers:
        log(f"2. layers: NumPy vs {device} (f32), gradient check on {device} (f64)")
        if not use_cupy:
            report.data["notes"].append("layer check ran NumPy against NumPy (no device)")
        try:
            layer_section(report, device, _pick(args.layers))
        except Exception as exc:
            report.error("layers", exc)
        report.save()
        log(f"2b. training: 3 steps per model, NumPy vs {device}, same initial weights")
        try:
            training_section(report, device, _pick(args.models))
        except Exception as exc:
            report.error("training", exc)
        report.save()

    if not args.no_timings:
        names = [n for n in ("numpy", "cupy") if n in want and (n != "cupy" or use_cupy)]
        log(f"3. one training step: {', '.join(names + (['torch'] if use_torch else []))}")
        try:
            timing_section(report, names, use_torch, _pick(args.models))
            add_baseline(report, args.cpu_baseline)
        except Exception as exc:
            report.error("timings", exc)
    report.save()
    log("4. report\n" + markdown(report.data))
    failed = [r for r in report.data["layers"] + report.data["training"]
              if "skipped" not in r and not r.get("ok")]
    log(f"done in {time.monotonic() - report.start:.0f} s: {len(failed)} check failure(s), "
        f"{len(report.data['errors'])} error(s); files in {args.out}")
    return 1 if failed or report.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

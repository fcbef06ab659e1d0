"""``python -m benchmarks --scaling``: training step time as the work grows (issue 18).

Five sweeps, each a model of the suite at growing size, for minikeras, Keras and PyTorch:

* ``mlp_batch``: the MLP 784-32-10 (RMSprop), batch 16 to 512;
* ``cnn_batch``: the tutorial CNN (Conv 5x5 32, pool, Conv 5x5 64, pool, Dense 1024; Adam),
  batch 16 to 512;
* ``lstm_batch``: LSTM(20) over 20 steps of 1 feature, a Dense(1) at every step (the LSTM
  tutorial's layers, not stateful, so that the batch can change), Adam, batch 16 to 512;
* ``lstm_seq``: the same LSTM at batch 50, sequence length 10 to 200;
* ``cnn_image``: the tutorial CNN at batch 16 on square images of 28 to 112 pixels (its
  Dense(1024) grows with the image: (size/4)^2 x 64 inputs).

Each framework runs a sweep in a process of its own (started once per sweep), answering
"time this point" over stdin/stdout like the suite's workers; the frameworks take turns point
by point (in rotating order), so that a burst of load from elsewhere hits them alike. A point
is: build the model at that size, one warm-up step (Keras traces), then ``train_on_batch``
repeated until ``min_s`` has run (at least ``min_steps``); the figure is the median step.
Data are random (the arithmetic, so the time, does not depend on the values).

Writes ``benchmarks/results/scaling/scaling.md`` (a table per sweep: ms per step and
minikeras' ratio to each), ``scaling.json`` and one PNG per sweep. ``--quick`` runs two
points per sweep with short timings (what CI checks: no timing is asserted).
"""

from __future__ import annotations

import json
import math
import os
import selectors
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suite import REPO

RESULTS = REPO / "benchmarks" / "results" / "scaling"
SWEEPS: dict[str, tuple[str, str, tuple[int, ...], tuple[int, ...]]] = {
    # name: (model, x-axis label, points, quick points)
    "mlp_batch": ("mlp", "batch size", (16, 32, 64, 128, 256, 512), (16, 128)),
    "cnn_batch": ("cnn", "batch size", (16, 32, 64, 128, 256, 512), (16, 32)),
    "lstm_batch": ("lstm", "batch size", (16, 32, 64, 128, 256, 512), (16, 64)),
    "lstm_seq": ("lstm", "sequence length", (10, 20, 50, 100, 200), (10, 20)),
    "cnn_image": ("cnn", "image size (pixels a side)", (28, 56, 84, 112), (28, 32)),
}
LSTM_BATCH, CNN_IMAGE_BATCH = 50, 16


def point_config(sweep: str, value: int) -> dict[str, int]:
    """The (batch, size) of one point: what the sweep varies, the rest at its default."""
    if sweep.endswith("_batch"):
        return {"batch": value, "size": 20 if sweep.startswith("lstm") else 28}
    if sweep == "lstm_seq":
        return {"batch": LSTM_BATCH, "size": value}
    return {"batch": CNN_IMAGE_BATCH, "size": value}


# --------------------------------------------------------------------------- the models
def build_keras_like(fw: Any, model: str, size: int) -> Any:
    """The model in minikeras or Keras (same public names), compiled as its tutorial."""
    L = fw.layers
    if model == "mlp":
        net = fw.Sequential([fw.Input((784,)), L.Dense(32, activation="relu"),
                             L.Dense(10, activation="softmax")])
        net.compile(optimizer=fw.optimizers.RMSprop(learning_rate=0.001),
                    loss="categorical_crossentropy")
    elif model == "cnn":
        net = fw.Sequential([
            fw.Input((size, size, 1)),
            L.Conv2D(32, 5, padding="same", activation="relu"),
            L.MaxPooling2D((2, 2), (2, 2), padding="same"),
            L.Conv2D(64, 5, padding="same", activation="relu"),
            L.MaxPooling2D((2, 2), (2, 2), padding="same"),
            L.Flatten(), L.Dense(1024, activation="relu"), L.Dense(10, activation="softmax")])
        net.compile(optimizer=fw.optimizers.Adam(learning_rate=1e-4),
                    loss="categorical_crossentropy")
    else:
        net = fw.Sequential([fw.Input((size, 1)), L.LSTM(20, return_sequences=True),
                             L.TimeDistributed(L.Dense(1))])
        net.compile(optimizer=fw.optimizers.Adam(learning_rate=0.006), loss="mse")
    return net


class TorchStep:
    """The PyTorch twin of one point, with a ``train_on_batch`` like Keras'."""

    def __init__(self, torch: Any, model: str, size: int) -> None:
        nn, self.torch, self.model = torch.nn, torch, model
        if model == "mlp":
            self.net = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
            self.opt = torch.optim.RMSprop(self.net.parameters(), lr=0.001, alpha=0.9,
                                           eps=1e-7)
        elif model == "cnn":
            side = math.ceil(math.ceil(size / 2) / 2)  # after two 'same' pools of 2
            self.net = nn.Sequential(
                nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
                nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
                nn.Flatten(), nn.Linear(side * side * 64, 1024), nn.ReLU(),
                nn.Linear(1024, 10))
            self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-4, eps=1e-7)
        else:
            self.lstm, self.fc = nn.LSTM(1, 20, batch_first=True), nn.Linear(20, 1)
            self.net = nn.ModuleList([self.lstm, self.fc])
            self.opt = torch.optim.Adam(self.net.parameters(), lr=0.006, eps=1e-7)

    def forward(self, x: Any) -> Any:
        if self.model == "lstm":
            return self.fc(self.lstm(x)[0])
        return self.net(x)

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        t = self.torch
        xt = t.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x)
        yt = t.from_numpy(y)
        self.opt.zero_grad(set_to_none=True)
        out = self.forward(xt)
        if self.model == "lstm":
            loss = t.nn.functional.mse_loss(out, yt)
        else:
            loss = t.nn.functional.cross_entropy(out, yt.argmax(-1))
        loss.backward()
        self.opt.step()
        return float(loss)


def data(model: str, batch: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if model == "lstm":
        return (rng.random((batch, size, 1), dtype=np.float32),
                rng.random((batch, size, 1), dtype=np.float32))
    x = rng.random((batch, 784) if model == "mlp" else (batch, size, size, 1), dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]


# --------------------------------------------------------------------------- worker side
def time_point(framework: str, fw: Any, model: str, batch: int, size: int, min_s: float,
               min_steps: int) -> dict[str, float]:
    if framework == "torch":
        fw.manual_seed(0)
        net: Any = TorchStep(fw, model, size)
    else:
        if hasattr(fw, "utils"):
            fw.utils.set_random_seed(0)
        net = build_keras_like(fw, model, size)
    x, y = data(model, batch, size)
    net.train_on_batch(x, y)  # warm-up: Keras traces its train function here
    times: list[float] = []
    t_end = time.perf_counter() + min_s
    while len(times) < min_steps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        net.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return {"step_s": statistics.median(times), "steps": len(times)}


def worker_main(framework: str) -> None:
    """Answer ``{"model", "batch", "size", "min_s", "min_steps"}`` lines with timings."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    from benchmarks.suite.worker import import_framework

    fw = import_framework(framework)
    proto.write(json.dumps({"event": "ready"}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("cmd") == "exit":
            return
        try:
            out = time_point(framework, fw, req["model"], req["batch"], req["size"],
                             req["min_s"], req["min_steps"])
        except Exception as exc:  # noqa: BLE001 - reported to the parent, the sweep goes on
            out = {"error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(out) + "\n")


# --------------------------------------------------------------------------- parent side
class Proc:
    def __init__(self, framework: str, log: Path) -> None:
        from benchmarks.suite.machine import child_env

        self.framework = framework
        self._err = open(log, "wb")  # closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.suite.scaling", "--worker", framework],
            cwd=REPO, env=child_env(dict(os.environ)), text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def receive(self, timeout: float) -> dict[str, Any]:
        if not self.sel.select(timeout):
            return {"error": f"no answer within {timeout:.0f} s"}
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"error": "worker exited"}

    def ask(self, req: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"error": "worker gone"}
        return self.receive(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()  # only this worker's own process
                self.proc.wait(timeout=10)
        self.sel.close()
        self._err.close()


def run_scaling(frameworks: Sequence[str], quick: bool, sweeps: Sequence[str],
                log: Callable[[str], None], log_dir: Path) -> dict[str, Any]:
    from benchmarks.suite.stats import round_order

    min_s, min_steps = (0.05, 2) if quick else (0.6, 3)
    out: dict[str, Any] = {"_meta": {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                     "load_average_start": list(os.getloadavg()),
                                     "quick": quick, "frameworks": list(frameworks)}}
    t_start = time.perf_counter()
    for sweep in sweeps:
        model, label, points, quick_points = SWEEPS[sweep]
        log(f"{sweep} ({model}, {label})")
        procs = {fw: Proc(fw, log_dir / f"scaling-{sweep}-{fw}.log") for fw in frameworks}
        alive = [fw for fw in frameworks if "error" not in procs[fw].receive(300.0)]
        rows: dict[str, Any] = {}
        try:
            for i, value in enumerate(quick_points if quick else points):
                cfg = point_config(sweep, value)
                row: dict[str, Any] = {}
                for fw in round_order(alive, i):
                    row[fw] = procs[fw].ask({"model": model, **cfg, "min_s": min_s,
                                             "min_steps": min_steps})
                rows[str(value)] = row
                log("  " + f"{value:>4}: " + ", ".join(
                    f"{fw} {1e3 * r['step_s']:.1f} ms" if "step_s" in r else f"{fw} {r['error']}"
                    for fw, r in row.items()))
        finally:
            for p in procs.values():
                p.close()
        out[sweep] = {"model": model, "axis": label, "points": rows}
    out["_meta"]["duration_s"] = time.perf_counter() - t_start
    out["_meta"]["load_average_end"] = list(os.getloadavg())
    return out


# --------------------------------------------------------------------------- report
def render(results: dict[str, Any], command: str) -> str:
    meta = results["_meta"]
    fws = meta["frameworks"]
    lines = ["# Training step time as the work grows: minikeras, Keras, PyTorch (CPU)", "",
             f"`{command}` on {meta['date']}, {meta['duration_s'] / 60:.1f} min"
             f"{' (--quick)' if meta['quick'] else ''}; load average "
             f"{', '.join(f'{v:.2f}' for v in meta['load_average_start'])} at the start, "
             f"{', '.join(f'{v:.2f}' for v in meta['load_average_end'])} at the end. How "
             "to read this: the docstring of `benchmarks/suite/scaling.py`. Median "
             "`train_on_batch` step, ms; the ratio columns are minikeras' speed over the "
             "other's (above 1: minikeras is faster).", ""]
    for sweep, res in results.items():
        if sweep.startswith("_"):
            continue
        others = [fw for fw in fws if fw != "minikeras"]
        lines += [f"## {sweep}: {res['model']}, step time vs {res['axis']}", "",
                  f"![{sweep}]({sweep}.png)", "",
                  f"| {res['axis']} | " + " | ".join(f"{fw}, ms" for fw in fws)
                  + "".join(f" | minikeras / {o}" for o in others) + " |",
                  "|---:|" + "---:|" * (len(fws) + len(others))]
        for value, row in res["points"].items():
            ms = [f"{1e3 * row[fw]['step_s']:.1f}" if "step_s" in row.get(fw, {}) else "-"
                  for fw in fws]
            ratios = []
            for o in others:
                a, b = row.get("minikeras", {}), row.get(o, {})
                ratios.append(f"{b['step_s'] / a['step_s']:.2f}x"
                              if "step_s" in a and "step_s" in b else "-")
            lines.append(f"| {value} | " + " | ".join(ms + ratios) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for sweep, res in results.items():
        if sweep.startswith("_"):
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for fw in results["_meta"]["frameworks"]:
            pts = [(int(v), 1e3 * r[fw]["step_s"]) for v, r in res["points"].items()
                   if "step_s" in r.get(fw, {})]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=fw)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(res["axis"])
        ax.set_ylabel("train_on_batch step, ms")
        ax.set_title(f"{res['model']}: step time vs {res['axis']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = folder / f"{sweep}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def main(frameworks: Sequence[str], quick: bool, out: Path | None, command: str,
         log: Callable[[str], None], sweeps: Sequence[str] = tuple(SWEEPS)) -> dict[str, Any]:
    """The ``--scaling`` run: writes the table, JSON and PNGs to ``out`` (a folder; the
    committed results folder for a full run, nothing for ``--quick`` unless given)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="minikeras-scaling-") as tmp:
        results = run_scaling(frameworks, quick, sweeps, log, Path(tmp))
    text = render(results, command)
    print("\n" + text)
    folder = out if out is not None else (None if quick else RESULTS)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scaling.md").write_text(text + "\n")
        (folder / "scaling.json").write_text(json.dumps(results, indent=1) + "\n")
        plot(results, folder)
        log(f"wrote {folder}")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        raise SystemExit("run it as: python -m benchmarks --scaling [--quick]")

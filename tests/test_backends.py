"""The CuPy backend: selection and its errors, every layer and the six models against NumPy.

``device_backend`` runs each comparison on the real CuPy (skipped without CuPy or a GPU) and
on simcupy, the strict NumPy-backed stand-in of ``backend_fixtures.py``, which proves the
device code path (no implicit device->host copies, no NumPy calls on device arrays, no
host round trip inside a training step) on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from backend_fixtures import ROOT, SIM, install_simcupy

import minikeras as mk
from benchmarks import gpu_check
from benchmarks.gpu_models import LAYER_CASES, MODELS, NOT_LAYERS
from minikeras import backend


def _use(name: str) -> None:
    backend.set_backend("numpy" if name == "numpy" else "cupy")


# --------------------------------------------------------------------------- selection
def test_unknown_backend_is_a_value_error():
    with pytest.raises(ValueError, match="Unknown backend 'jax'"):
        backend.set_backend("jax")


def test_cupy_missing_says_the_package_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    with pytest.raises(ImportError, match="package `cupy` is not installed"):
        backend.set_backend("cupy")
    assert backend.backend() == "numpy" and backend.xp is np


def test_cupy_with_broken_cuda_libraries_says_import_failed(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "cupy":
            raise ImportError("libnvrtc.so.13: cannot open shared object file",
                              name="cupy_backends.cuda.libs.nvrtc")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="`cupy` is installed but failed to import.*libnvrtc"):
        backend.set_backend("cupy")


@pytest.mark.parametrize("count", [0, -1], ids=["zero_devices", "runtime_error"])
def test_cupy_without_gpu_says_no_gpu(monkeypatch, count):
    install_simcupy(monkeypatch)
    SIM.device_count = count  # -1: the CUDA runtime raises, as it does without a driver
    with pytest.raises(RuntimeError, match="cupy is installed but no CUDA GPU is visible"):
        backend.set_backend("cupy")
    assert backend.backend() == "numpy"


def test_environment_variable_selects_cupy_at_import():
    env = {**os.environ, "MINIKERAS_BACKEND": "cupy"}
    code = ("import sys; sys.modules['cupy'] = None\n"
            "try:\n    import minikeras\nexcept ImportError as e:\n    print('ERR', e)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert "ERR set_backend('cupy'): the package `cupy` is not installed" in out.stdout


def test_xp_backend_fixture_switches_the_array_module(xp_backend):
    assert backend.backend() == ("numpy" if xp_backend == "numpy" else "cupy")
    a = backend.to_device(np.arange(3.0))
    assert isinstance(a, backend.xp.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(a * 2), [0.0, 2.0, 4.0])


# --------------------------------------------------------------------------- layers
def test_every_layer_has_a_backend_case():
    covered = {c.cls for c in LAYER_CASES}
    missing = sorted(n for n in mk.layers.__all__ if n not in NOT_LAYERS and n not in covered
                     and isinstance(getattr(mk.layers, n), type))
    assert not missing, (f"layers without a CuPy comparison case: {missing}; add one to "
                         "LAYER_CASES in benchmarks/gpu_models.py")


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.label)
def test_layer_matches_numpy_on_device(device_backend, case):
    if getattr(mk.layers, case.cls, None) is None:
        pytest.skip(f"{case.cls} is not in minikeras.layers yet")
    SIM.reset()
    row = gpu_check.compare_layer(case, "cupy", grad_entries=6)
    assert row["ok"], row
    assert row["max_rel_err_f32"] <= gpu_check.TOL
    if device_backend == "sim":
        assert row["max_rel_err_f32"] == 0.0  # the same NumPy arithmetic underneath
        assert not SIM.np_calls, f"NumPy functions called on device arrays: {SIM.np_calls}"


def test_dropout_in_training_uses_one_device_mask(device_backend):
    _use(device_backend)
    backend.set_seed(3)
    layer = mk.layers.Dropout(0.5)
    x = backend.to_device(np.ones((4, 50), np.float32))
    y = layer(x, training=True)
    kept = backend.to_numpy(y) != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_array_equal(backend.to_numpy(y)[kept], 2.0)
    dx = backend.to_numpy(layer.backward(backend.to_device(np.full((4, 50), 3, np.float32))))
    np.testing.assert_array_equal(dx, np.where(kept, 6.0, 0.0))
    backend.set_seed(3)
    again = backend.to_numpy(mk.layers.Dropout(0.5)(x, training=True))
    np.testing.assert_array_equal(again, backend.to_numpy(y))  # seeded: repeatable


# --------------------------------------------------------------------------- models
def _train(case, name: str, steps: int):
    _use(name)
    try:
        backend.set_seed(0)
        model = case.build(mk)
        x, y = case.data(np.random.default_rng(0))
        first = model.get_weights()
        losses = [model.train_on_batch(x, y) for _ in range(steps)]
        losses = [float(np.ravel(v)[0]) if isinstance(v, list) else v for v in losses]
        return first, losses, model.get_weights(), model.predict(x, batch_size=case.batch,
                                                                 verbose=0)
    finally:
        backend.set_backend("numpy")


@pytest.mark.parametrize("case", MODELS, ids=lambda c: c.key)
def test_training_matches_numpy_from_the_same_weights(device_backend, case):
    steps = 2 if case.key == "cnn" else 3
    w0_ref, loss_ref, w_ref, p_ref = _train(case, "numpy", steps)
    w0, losses, w, p = _train(case, device_backend, steps)
    for a, b in zip(w0_ref, w0, strict=True):  # host-drawn initial weights: identical
        np.testing.assert_array_equal(a, b)
    assert all(isinstance(v, float) for v in losses)
    assert all(isinstance(v, np.ndarray) for v in w) and isinstance(p, np.ndarray)
    np.testing.assert_allclose(losses, loss_ref, rtol=1e-4, atol=1e-6)
    for a, b in zip(w_ref, w, strict=True):
        assert gpu_check.rel_err(a, b) <= 1e-4
    assert gpu_check.rel_err(p_ref, p) <= 1e-4


@pytest.mark.parametrize("key", ["mlp", "cnn", "lstm"])
def test_train_step_never_reads_back_from_the_device(monkeypatch, key):
    """The proof of 'no host-device round trip inside a training step' (simcupy counts)."""
    install_simcupy(monkeypatch)
    backend.set_backend("cupy")
    try:
        case = next(c for c in MODELS if c.key == key)
        model = case.build(mk)
        x, y = case.data(np.random.default_rng(0))
        model.train_on_batch(x, y)
        bx, by = [backend.to_device(x)], [backend.to_device(y)]
        SIM.reset()
        model._train_step(bx, by)
        model._train_step(bx, by)
        assert SIM.syncs == [] and SIM.np_calls == []
        logs = model._logs()  # the one read, when the progress bar asks
        assert all(isinstance(v, float) for v in logs.values())
        assert SIM.syncs == ["asnumpy"] * len(logs)
    finally:
        backend.set_backend("numpy")


def test_fit_reads_metrics_once_per_epoch_without_a_progress_bar(monkeypatch):
    install_simcupy(monkeypatch)
    backend.set_backend("cupy")
    try:
        case = next(c for c in MODELS if c.key == "mlp")
        model = case.build(mk)
        x, y = case.data(np.random.default_rng(0))
        SIM.reset()
        hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_split=0.25)
        # per epoch: loss+accuracy of training, then of validation: 4 reads, not 4 per batch
        assert len(SIM.syncs) == 8, SIM.syncs
        assert all(isinstance(v, float) for vals in hist.history.values() for v in vals)
        out = model.evaluate(x, y, verbose=0)
        assert all(isinstance(v, float) for v in out)
        assert isinstance(model(x[:2]), np.ndarray)
        assert isinstance(model.layers[0].kernel.value, backend.xp.ndarray)
    finally:
        backend.set_backend("numpy")


# --------------------------------------------------------------------------- the GPU check
_QUICK = ["--layers", "dense_relu,conv2d_same_relu,maxpool_same,lstm_last,add",
          "--models", "mlp,lstm", "--budget-s", "120"]


def test_gpu_check_numpy_only(tmp_path, capsys):
    rc = gpu_check.main(["--backends", "numpy", "--out", str(tmp_path), *_QUICK])
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0, data["errors"]
    assert {r["model"] for r in data["timings"]} == {"mlp", "lstm"}
    assert all(r["numpy"]["ms"] > 0 for r in data["timings"])
    assert all(r["ok"] for r in data["layers"] if "skipped" not in r)
    assert "| model | batch |" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_degrades_to_numpy_without_cupy(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    rc = gpu_check.main(["--out", str(tmp_path), "--no-timings", "--layers", "dense_relu"])
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0
    assert any("CuPy backend unavailable" in n for n in data["notes"])


def test_gpu_check_cupy_path_with_simcupy(tmp_path, monkeypatch):
    install_simcupy(monkeypatch)
    rc = gpu_check.main(["--out", str(tmp_path), *_QUICK])
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0, data["errors"]
    assert data["device"].startswith("simcupy")
    assert all(r["device"] == "cupy" and r["ok"] for r in data["layers"])
    assert [r["model"] for r in data["training"]] == ["mlp", "lstm"]
    assert all(r["ok"] and r["initial_weights_identical"] for r in data["training"])
    assert all(r["cupy"]["ms"] > 0 and r["cupy"]["train_on_batch_ms"] > 0
               for r in data["timings"])
    assert "CuPy vs NumPy" in (tmp_path / "gpu_check.md").read_text()

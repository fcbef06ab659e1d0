"""``python -m benchmarks``: the small pure functions, and one quick run end to end.

No timing is asserted anywhere: CI machines are shared and slow. The quick run only checks
that the harness works and that its JSON has the documented shape with positive figures.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.suite.gemm import bound_fraction, gemm_fraction, model_products, train_flops
from benchmarks.suite.models import MODELS, Target
from benchmarks.suite.orchestrate import Lane, gemm_figures
from benchmarks.suite.stats import (
    check_rss,
    check_target,
    ratio_summary,
    round_order,
    summary,
    worker_envs,
)

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("train_samples_per_s", "fit_samples_per_s", "predict_samples_per_s", "peak_rss_mb",
           "startup_s")


# --------------------------------------------------------------------------- pure functions
def test_ratio_median_and_range_round_by_round():
    r = ratio_summary([10.0, 30.0, 20.0], [5.0, 10.0, 20.0])
    assert r["per_round"] == [2.0, 3.0, 1.0]
    assert (r["median"], r["min"], r["max"]) == (2.0, 1.0, 3.0)
    assert summary([4.0, 1.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    with pytest.raises(ValueError):
        ratio_summary([1.0], [1.0, 2.0])


def test_rounds_rotate_the_framework_order():
    fws = ["minikeras", "keras", "torch"]
    assert [round_order(fws, r)[0] for r in range(4)] == ["minikeras", "keras", "torch",
                                                          "minikeras"]
    assert sorted(round_order(fws, 1)) == sorted(fws)


def test_openblas_variables_add_a_second_environment_without_touching_the_given_one():
    plain = {"PATH": "/bin"}
    assert list(worker_envs(plain)) == ["as_is"]
    env = {"PATH": "/bin", "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    envs = worker_envs(env)
    assert envs["as_is"] == env and envs["openblas_unset"] == {"PATH": "/bin"}
    assert env["OPENBLAS_CORETYPE"] == "Haswell"  # the caller's mapping is left as it was


def test_train_flops_three_products_per_layer_but_two_for_the_first():
    assert train_flops([(4, 3, 2)]) == 2 * 2 * 4 * 3 * 2
    assert train_flops([(4, 3, 2), (4, 2, 5)]) == 2 * 2 * 24 + 3 * 2 * 40


def test_tutorial_cnn_step_is_5_25_gflop():
    # conv 5x5x1->32 and 5x5x32->64 at 28x28 and 14x14, Dense 3136->1024->10, batch 64
    flops = train_flops(model_products("cnn", 64))
    assert flops == 2 * 2 * 50176 * 25 * 32 + 3 * 2 * (12544 * 800 * 64 + 64 * 3136 * 1024
                                                        + 64 * 1024 * 10)
    assert train_flops(model_products("cnn", 1)) * 64 == flops


def test_gemm_fractions():
    assert gemm_fraction(1e6, 100.0, 1e9) == pytest.approx(0.1)
    # a 64-sample step at 640 samples/s lasts 0.1 s: a 0.085 s bound is 85% of it
    assert bound_fraction(0.085, 64, 640.0) == pytest.approx(0.85)


def test_gemm_shares_are_taken_round_by_round_against_the_probe():
    probe = Lane("gemm", "as_is", rounds={"gemm_flops_per_s": [1e9, 2e9],
                                          "gemm_bound_s": [0.05, 0.1]})
    measured = {"flops_per_sample": {"cnn": 1e6}, "gemm_flops_per_s": 4e9,
                "gemm_bound_s": {"cnn": 0.2}}
    figs = gemm_figures("cnn", [100.0, 100.0], probe, measured, batch=10)
    assert figs["gemm_fraction_range"] == [pytest.approx(0.05), pytest.approx(0.1)]
    assert figs["gemm_bound_fraction_range"] == [pytest.approx(0.5), pytest.approx(1.0)]
    # without a probe (it failed), the start/end measurement stands in for every round
    figs = gemm_figures("cnn", [100.0, 100.0], None, measured, batch=10)
    assert figs["gemm_fraction"] == pytest.approx(0.025)
    assert figs["gemm_bound_fraction"] == pytest.approx(2.0)


def test_targets_read_the_median_ratios():
    entry = {"minikeras": {"train_samples_per_s": 300.0, "peak_rss_mb": 40.0,
                           "ratio_vs_keras": {"train": {"median": 3.5}}},
             "keras": {"train_samples_per_s": 100.0, "peak_rss_mb": 600.0},
             "torch": {"train_samples_per_s": 400.0}}
    assert check_target(Target("ratio", 3.0), entry)[1] is True
    text, met = check_target(Target("ratio", 3.0, beat_torch=True), entry)
    assert met is False and "0.75x PyTorch" in text
    assert check_target(Target("ratio", 4.0), entry)[1] is False
    assert check_target(Target("gemm_bound", 0.85), entry)[1] is None
    assert check_target(Target("gemm_bound", 0.85),
                        {"minikeras": {"gemm_bound_fraction": 0.9}})[1] is True
    assert check_rss(entry)[1] is True
    assert check_rss({"minikeras": {"peak_rss_mb": 1.0}})[1] is None


def test_quick_sizes_are_smaller_but_never_below_two():
    for bench in MODELS.values():
        full, quick = bench.sizes(False), bench.sizes(True)
        assert all(2 <= q <= f for q, f in zip(quick, full, strict=True))


# --------------------------------------------------------------------------- end to end
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_quick_run_writes_positive_figures_in_the_documented_shape(tmp_path):
    frameworks = ["minikeras"] + [fw for fw in ("keras", "torch") if _installed(fw)]
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--models", "regression,mlp",
           "--frameworks", ",".join(frameworks), "--json", str(out_json), "--out", str(out_md)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out_json.read_text())
    assert results["_meta"]["errors"] == []
    assert set(results) == {"regression", "mlp", "_meta"}
    for model in ("regression", "mlp"):
        assert set(results[model]) == set(frameworks)
        for fw, figs in results[model].items():
            for name in FIGURES:
                assert figs[name] > 0, (model, fw, name)
        if "keras" in frameworks:
            ratio = results[model]["minikeras"]["ratio_vs_keras"]["train"]
            assert len(ratio["per_round"]) == 2 and ratio["min"] <= ratio["median"] <= ratio["max"]
    meta = results["_meta"]
    assert meta["gemm"]["as_is"]["gemm_flops_per_s"] > 0
    assert meta["import_s"]["minikeras"]["median_s"] > 0
    assert meta["cores"] >= 1 and meta["versions"]["numpy"]
    text = out_md.read_text()
    assert "## Targets" in text and "| mlp |" in text


def test_quick_scaling_run_writes_table_json_and_plots(tmp_path):
    """``--scaling --quick`` end to end on minikeras (the cheap framework); no timing asserted."""
    cmd = [sys.executable, "-m", "benchmarks", "--scaling", "--quick", "--frameworks",
           "minikeras", "--sweeps", "mlp_batch,lstm_seq", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "scaling.json").read_text())
    assert set(results) == {"mlp_batch", "lstm_seq", "_meta"}
    for sweep in ("mlp_batch", "lstm_seq"):
        points = results[sweep]["points"]
        assert len(points) == 2 and all(p["minikeras"]["step_s"] > 0 for p in points.values())
        assert (tmp_path / f"{sweep}.png").stat().st_size > 1000
    assert "| 16 |" in (tmp_path / "scaling.md").read_text()


def test_working_set_counts_weights_optimizer_activations_and_patches():
    import minikeras as mk
    from benchmarks.suite.memory import working_set

    model = mk.Sequential([mk.Input((8, 8, 1)), mk.layers.Conv2D(2, 3, activation="relu"),
                           mk.layers.Flatten(), mk.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.predict(np.zeros((1, 8, 8, 1), np.float32), verbose=0)
    ws = working_set(model, batch=4)
    params = 3 * 3 * 1 * 2 + 2 + 72 * 3 + 3
    mb = 2**20
    assert ws["weights_and_grads_mb"] == pytest.approx(2 * params * 4 / mb)
    assert ws["optimizer_state_mb"] == pytest.approx(2 * params * 4 / mb)
    assert ws["patch_matrices_mb"] == pytest.approx(2 * 4 * 36 * 9 * 4 / mb)  # cols + dcols
    # input 64, conv z and y 2 x 72, flatten 72, dense 3: per sample, 4 samples, 4 bytes
    assert ws["activations_mb"] == pytest.approx(4 * (64 + 144 + 72 + 3) * 4 / mb)


def test_conv_breakdown_forms_compute_the_same_gradients():
    """The alternative forms the breakdown times are checked against the layers' own when
    they are built (small shapes here; the timing itself is not run)."""
    from benchmarks.conv_breakdown import (
        conv_forms,
        first_layer_forms,
        optimizer_forms,
        pool_forms,
    )

    forms, sizes = conv_forms(2, 6, 6, 3, 4, 3, "same")   # builds and checks every dx form
    assert sizes["cols_mb"] > 0 and sum(name.startswith("dx") for name in forms) == 5
    assert forms["dK = cols^T @ dz"]().shape == (27, 4)
    first = first_layer_forms(2, 6, 6, 1, 4, 3, "valid")  # checks both weight gradients
    assert first["dK = cols_t @ dz (channel-major)"]().shape == (9, 4)
    pools = pool_forms(2, 6, 6, 3)
    outputs = [fn() for name, fn in pools.items() if name.startswith("max-pool forward")]
    assert len(outputs) == 3 and all(np.array_equal(outputs[0], o) for o in outputs)
    assert len(optimizer_forms()) == 2


def test_two_threads_halves_compute_what_the_whole_batch_does():
    """benchmarks.two_threads times each piece on the whole batch and on its two halves on
    two threads: the halves, put back together, are the whole batch's result (no timing)."""
    pytest.importorskip("threadpoolctl")
    from benchmarks.two_threads import cnn_pieces, on_two_threads

    def as_list(out):  # type: ignore[no-untyped-def]
        return list(out) if isinstance(out, tuple) else [out]

    for name, (piece, n) in cnn_pieces().items():
        whole = as_list(piece(slice(0, n)))
        halves = [as_list(h) for h in on_two_threads(piece, n)()]
        for k, part in enumerate(whole):
            joined = np.concatenate([np.asarray(h[k]).reshape(n // 2, -1) for h in halves])
            np.testing.assert_allclose(joined, np.asarray(part).reshape(n, -1), rtol=1e-5,
                                       atol=1e-5, err_msg=name)

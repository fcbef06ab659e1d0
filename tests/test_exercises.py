"""minikeras.exercises: every exercise's untouched skeleton fails at stage 1 saying what is
missing, minikeras' own implementation passes every stage (the Keras stages where keras is
installed, a few training steps), the diagnosis locates a perturbed block or region, and the
command line works. The planted mistakes are in test_exercise_mistakes*.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from exercise_helpers import grade

from minikeras import exercises, layers
from minikeras.exercises import diagnose, tutorial_models
from minikeras.exercises.layer_grader import Case

ROOT = Path(__file__).resolve().parents[1]
HAS_KERAS = importlib.util.find_spec("keras") is not None


# --------------------------------------------------------------------------- every exercise
@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_untouched_skeleton_fails_at_stage_one(name, tmp_path):
    path = exercises.start(name, tmp_path)
    with pytest.raises(FileExistsError):
        exercises.start(name, tmp_path)      # never overwrites the learner's file
    card = grade(name, exercises.load_piece(name, path), last_stage=4)
    assert card.stages[0].status == "FAIL"
    assert "not written yet" in card.diagnosis
    assert all(s.status == "not run" for s in card.stages[1:])


@pytest.fixture(scope="module")
def keras_steps():
    return 2


@pytest.mark.parametrize("name", list(exercises.EXERCISES))
def test_reference_passes_every_stage(name, keras_steps):
    card = exercises.check(name, reference=True, keras=True, steps=keras_steps, verbose=False)
    assert card.passed, card.render()
    statuses = [s.status for s in card.stages]
    assert statuses[:2] == ["pass", "pass"]
    assert statuses[2:] == (["pass", "pass"] if HAS_KERAS else ["skipped", "pass"])


def test_without_keras_the_keras_stage_is_skipped_with_the_reason():
    card = exercises.check("dense", reference=True, keras=False, steps=2, verbose=False)
    assert card.passed
    assert card.stages[2].status == "skipped" and "switched off" in card.stages[2].lines[0]
    assert "float64" in card.stages[3].lines[0]


# --------------------------------------------------------------------------- the locator
def _lstm_case():
    ex = exercises.get("lstm")
    layer = layers.LSTM(4, dtype="float64")
    layer.build_for((2, 3, 5))
    layer.forward(np.zeros((2, 3, 5)))
    return ex, Case(ex.configs()[1], layer, np.zeros((2, 3, 5)), [np.zeros((2, 4))])


@pytest.mark.parametrize("seed", range(6))
def test_random_perturbation_of_one_block_or_region_is_located(seed):
    rng = np.random.default_rng(seed)
    ex, case = _lstm_case()
    truth = rng.standard_normal(case.layer.kernel.shape)
    regions = ex.regions("dL/dkernel", case)
    block = regions[seed % 4]
    got = truth.copy()
    got[block.mask] += rng.standard_normal(int(block.mask.sum())) * 10 ** rng.uniform(-3, 0)
    message = diagnose.explain("dL/dkernel", got, truth, regions=regions)
    assert f"wrong only {block.label}; the other three blocks match" in message
    # dL/dx of a sequence: the last step vs the earlier ones
    x_regions = ex.regions("dL/dx", case)
    target = x_regions[seed % 2]
    tx = rng.standard_normal(case.x.shape)
    gx = tx.copy()
    gx[target.mask] *= 1 + rng.uniform(0.01, 1)
    assert f"wrong only {target.label}" in diagnose.explain("dL/dx", gx, tx, regions=x_regions)


@pytest.mark.parametrize("seed", range(4))
def test_perturbed_border_of_a_convolution_gradient_is_located(seed):
    rng = np.random.default_rng(seed)
    ex = exercises.get("conv2d")
    cfg = ex.configs()[1]
    layer = layers.Conv2D(**cfg.kwargs, dtype="float64")
    x = rng.standard_normal(cfg.input_shape)
    layer.build_for(x.shape)
    layer.forward(x)
    case = Case(cfg, layer, x, [np.zeros(layer.compute_output_shape(x.shape))])
    regions = ex.regions("dL/dx", case)
    truth = rng.standard_normal(x.shape)
    got = truth.copy()
    ring = regions[0].mask
    spot = tuple(np.argwhere(ring)[rng.integers(ring.sum())])
    got[spot] += 0.5
    message = diagnose.explain("dL/dx", got, truth, regions=regions)
    assert message.startswith("dL/dx is wrong only within 2 pixels of the border")
    assert "check the padding that col2im removes" in message


# --------------------------------------------------------------------------- the package
def test_shipped_tutorial_models_match_the_parity_definitions():
    import minikeras
    from parity_tests import models as parity_models

    def layout(model):
        return [(type(la).__name__, {k: v for k, v in la.get_config().items() if k != "name"})
                for la in model.layers]

    pairs = {"regression": "regression", "mlp": "mlp", "cnn": "cnn_channels_last", "rnn": "rnn",
             "lstm": "lstm", "autoencoder": "autoencoder"}
    for mine, theirs in pairs.items():
        minikeras.backend.clear_session()
        a = layout(tutorial_models.TUTORIALS[mine].build(minikeras))
        minikeras.backend.clear_session()
        b = layout(parity_models.SPECS[theirs].build(minikeras).model)
        assert a == b, mine
        assert tutorial_models.TUTORIALS[mine].loss == parity_models.SPECS[theirs].loss


def test_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINIKERAS_EXERCISES_NO_KERAS": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "minikeras.exercises", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    listing = run()
    assert listing.returncode == 0
    names = [line.split()[1] for line in listing.stdout.splitlines() if line[:3].strip()
             .rstrip(".").isdigit()]
    assert names == list(exercises.EXERCISES)
    assert run("start", "mse").returncode == 0
    again = run("start", "mse")
    assert again.returncode == 2 and "already exists" in again.stderr
    failed = run("check", "mse")
    assert failed.returncode == 1 and "not written yet" in failed.stdout
    (tmp_path / "broken.py").write_text("def oops(:\n")
    broken = run("check", "mse", "broken.py")
    assert broken.returncode == 2 and "broken.py failed to load: SyntaxError" in broken.stderr
    passed = run("check", "mse", "--reference", "--steps", "2")
    assert passed.returncode == 0 and "all stages pass" in passed.stdout


def test_grading_pins_the_settings_and_puts_them_back():
    from minikeras import backend

    backend.set_image_data_format("channels_first")
    backend.set_floatx("float64")
    try:
        card = exercises.check("max_pooling", reference=True, keras=False, verbose=False,
                               last_stage=2)
        assert card.passed, card.render()
        assert (backend.floatx(), backend.image_data_format()) == ("float64", "channels_first")
    finally:
        backend.set_image_data_format("channels_last")
        backend.set_floatx("float32")


@pytest.mark.parametrize("seed", range(3))
def test_perturbed_tied_windows_and_true_classes_are_located(seed):
    rng = np.random.default_rng(seed)
    # max pooling: a change inside the windows with tied maxima only
    ex = exercises.get("max_pooling")
    cfg = ex.configs()[3]
    x = ex.make_input(cfg, rng)
    layer = layers.MaxPooling2D(**cfg.kwargs, dtype="float64")
    layer.build_for(x.shape)
    dy = rng.standard_normal(layer.forward(x).shape)
    regions = ex.regions("dL/dx", Case(cfg, layer, x, [dy]))
    truth = rng.standard_normal(x.shape)
    got = truth.copy()
    tied = regions[0].mask
    got[tied] += rng.standard_normal(int(tied.sum()))
    assert diagnose.explain("dL/dx", got, truth, regions=regions).startswith(
        "dL/dx is wrong only in windows with tied maxima")
    # softmax + cross-entropy: a change at the true class only
    xent = exercises.get("softmax_xent")
    y, z = xent.make_case((5, 4), seed)
    truth = rng.standard_normal(z.shape)
    got = truth + (y == 1) * rng.uniform(0.1, 1, z.shape)
    message = diagnose.explain("the gradient", got, truth, regions=xent.regions(y))
    assert "wrong only at the true class" in message and "− y term" in message

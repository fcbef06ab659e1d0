"""Whole-model parity: the six tutorial models trained on real Keras and on minikeras.

Each model starts from one set of initial weights (Keras', copied into minikeras; for the MLP
and the CNN also the reverse) and sees the same unshuffled batches of real MNIST (or of the
regression / sin->cos data). The assertions, per model:

* every ``train_on_batch`` loss over the first 100 steps agrees to 1e-5 relative;
* all weights after 100 steps (or after the whole run, if shorter) agree to 1e-5;
* the per-batch accuracy agrees (it is computed from the same pre-update weights);
* after the CI-sized run, ``evaluate`` on 2,000 held-out images gives the same loss and an
  accuracy within 0.5 percentage points, and the probes (predictions) agree.

Runs are cached per module, so the tests of one model share one training run per direction.
A model whose minikeras layers are not there yet is skipped with the missing names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from parity_tests.harness import Comparison, compare, import_minikeras
from parity_tests.models import SPECS, missing_parts

pytestmark = pytest.mark.parity

LOSS_RTOL = 1e-5      # per-step loss, relative, first CHECK_STEPS steps
WEIGHT_ATOL = 1e-5    # every weight after CHECK_STEPS steps
ACCURACY_PP = 0.5     # final evaluation accuracy, percentage points
CHECK_STEPS = 100
EVAL_LOSS_RTOL = 1e-5  # final evaluation loss, relative
PROBE_ATOL = 1e-5     # predictions after the run

REVERSE = ("mlp", "cnn_channels_last")

_RUNS: dict[tuple[str, bool], Comparison] = {}


def _comparison(key: str, keras: Any, reverse: bool = False) -> Comparison:
    spec = SPECS[key]
    minikeras = import_minikeras()
    if not hasattr(minikeras, "Sequential"):
        pytest.skip("minikeras has no training loop yet (minikeras.Sequential)")
    missing = missing_parts(spec, minikeras)
    if missing:
        pytest.skip(f"minikeras lacks {', '.join(missing)} (needed by {key})")
    if (key, reverse) not in _RUNS:
        _RUNS[(key, reverse)] = compare(spec, keras, minikeras, spec.ci_steps,
                                        checkpoints=(CHECK_STEPS,), reverse=reverse)
    return _RUNS[(key, reverse)]


def _summary(c: Comparison) -> str:
    return (f"{c.key} ({c.direction}, {c.steps} steps): max loss rel diff "
            f"{c.max_loss_rel():.2e}, weight diffs {c.weight_diff}, eval keras "
            f"{c.keras.evaluation} vs minikeras {c.mini.evaluation}")


def _check_steps(c: Comparison) -> int:
    return min(CHECK_STEPS, c.steps)


@pytest.mark.parametrize("key", list(SPECS))
def test_per_step_losses_agree(keras: Any, key: str) -> None:
    c = _comparison(key, keras)
    n = _check_steps(c)
    worst = c.max_loss_rel(n)
    assert worst <= LOSS_RTOL, (
        f"first step over {LOSS_RTOL}: {c.first_exceeding(LOSS_RTOL)}; " + _summary(c))


@pytest.mark.parametrize("key", list(SPECS))
def test_weights_agree_after_100_steps(keras: Any, key: str) -> None:
    c = _comparison(key, keras)
    assert c.weight_diff[_check_steps(c)] <= WEIGHT_ATOL, _summary(c)


@pytest.mark.parametrize("key", [k for k in SPECS if SPECS[k].metrics])
def test_per_step_accuracy_agrees(keras: Any, key: str) -> None:
    """Batch accuracy from identical weights: a flip needs a near-tie in the argmax, so allow
    at most one sample per batch, and on no more than 2% of the steps."""
    c = _comparison(key, keras)
    diff = c.metric_diff[: _check_steps(c), 0]
    one_sample = 1.0 / SPECS[key].batch_size
    assert diff.max() <= one_sample + 1e-7, _summary(c)
    assert np.count_nonzero(diff) <= 0.02 * len(diff), _summary(c)


@pytest.mark.parametrize("key", list(SPECS))
def test_final_evaluation_agrees(keras: Any, key: str) -> None:
    c = _comparison(key, keras)
    k_loss, m_loss = c.keras.evaluation[0], c.mini.evaluation[0]
    assert abs(k_loss - m_loss) <= EVAL_LOSS_RTOL * abs(k_loss), _summary(c)
    if c.metric_names:
        pp = 100 * abs(c.keras.evaluation[1] - c.mini.evaluation[1])
        assert pp <= ACCURACY_PP, _summary(c)


@pytest.mark.parametrize("key", [k for k in SPECS if SPECS[k].probe])
def test_predictions_agree_after_training(keras: Any, key: str) -> None:
    c = _comparison(key, keras)
    for name, diff in c.probe_diff.items():
        assert diff <= PROBE_ATOL, f"{name}: {diff:.2e}; " + _summary(c)


def test_autoencoder_encoder_shares_weights(keras: Any) -> None:
    """Training the autoencoder moved the encoder: its 8 arrays are the autoencoder's."""
    c = _comparison("autoencoder", keras)
    gap, count = c.mini.probes["encoder vs autoencoder weights"]
    assert count == 8 and gap == 0.0


@pytest.mark.parametrize("key", REVERSE)
def test_reverse_direction(keras: Any, key: str) -> None:
    """minikeras' own initial weights, copied into Keras, give the same training run."""
    c = _comparison(key, keras, reverse=True)
    n = _check_steps(c)
    assert c.max_loss_rel(n) <= LOSS_RTOL, _summary(c)
    assert c.weight_diff[n] <= WEIGHT_ATOL, _summary(c)
    if c.metric_names:
        assert 100 * abs(c.keras.evaluation[1] - c.mini.evaluation[1]) <= ACCURACY_PP

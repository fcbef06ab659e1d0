"""Keras 1/2 RNN options: dropout_W/dropout_U, and a classic-style script with LSTM dropout and
Bidirectional run unchanged through ``python -m minikeras.as_keras``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from minikeras import layers

SCRIPTS = Path(__file__).resolve().parent / "legacy_scripts"
REPO = SCRIPTS.parents[1]


def test_keras1_dropout_spellings_map_to_keras3():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        lstm = layers.LSTM(4, dropout_W=0.2, dropout_U=0.3)
    messages = " ".join(str(w.message) for w in record if w.category is DeprecationWarning)
    assert "dropout=0.2" in messages and "recurrent_dropout=0.3" in messages
    assert (lstm.dropout, lstm.recurrent_dropout) == (0.2, 0.3)


def test_sequence_classification_script_runs_unchanged(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "minikeras.as_keras",
         str(SCRIPTS / "sequence_classification_keras2.py"), "8"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lstm_acc = float(re.search(r"^Test accuracy: ([0-9.]+)$", proc.stdout, re.M).group(1))
    bi_acc = float(re.search(r"^Bidirectional test accuracy: ([0-9.]+)$", proc.stdout,
                             re.M).group(1))
    # a constant guess scores about 0.55 on this data; a model that counts scores above 0.9
    assert lstm_acc > 0.8 and bi_acc > 0.8, proc.stdout[-2000:]


@pytest.mark.parametrize("path", ["keras.layers.wrappers", "keras.layers"])
def test_bidirectional_is_found_at_the_keras2_paths(path):
    from minikeras import as_keras

    with as_keras.installed():
        import importlib

        module = importlib.import_module(path)
        assert module.Bidirectional is layers.Bidirectional

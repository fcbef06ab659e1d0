"""Scripts in the style of the classic Keras examples, run unchanged through
``minikeras.as_keras``: in Keras 3 spelling (``keras3_scripts/``) a text classifier
(Embedding, Conv1D, GlobalMaxPooling1D, LayerNormalization), an MNIST convnet with
BatchNormalization and a convolutional autoencoder (Conv2DTranspose, Cropping2D); in Keras 1
spelling (``legacy_scripts/``) the imdb_cnn example on synthetic sequences."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

import minikeras as mk
from minikeras import as_keras

SCRIPTS = Path(__file__).resolve().parent / "keras3_scripts"
LEGACY_SCRIPTS = SCRIPTS.parent / "legacy_scripts"
REPO = SCRIPTS.parents[1]


def run(name: str, *argv: str, folder: Path = SCRIPTS) -> dict:
    mk.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return as_keras.run_script(str(folder / name), list(argv))


def test_text_classifier_finds_the_phrases():
    ns = run("text_classifier_conv1d.py", "600")
    assert ns["score"][1] > 0.95, ns["score"]
    assert ns["history"].history["loss"][-1] < ns["history"].history["loss"][0]
    assert ns["model"].layers[0].output_shape == (None, 40, 16)
    assert ns["model"].layers[3].output_shape == (None, 32)      # GlobalMaxPooling1D


def test_mnist_convnet_with_batch_normalization():
    ns = run("mnist_convnet_batchnorm.py", "1000")
    assert ns["score"][0] < ns["first_score"][0] - 0.5, (ns["first_score"], ns["score"])
    assert ns["score"][1] > 0.4, ns["score"]
    # training moved the moving statistics away from their initial zeros
    assert np.abs(ns["moving_mean"]).max() > 1e-3
    assert [type(la).__name__ for la in ns["model"].layers].count("BatchNormalization") == 2


def test_mnist_conv_autoencoder():
    ns = run("mnist_conv_autoencoder.py", "200")
    assert ns["predictions"].shape == (100, 28, 28, 1)
    assert ns["test_loss"] < ns["first_loss"] - 0.1, (ns["first_loss"], ns["test_loss"])
    losses = ns["history"].history["loss"]
    assert losses[-1] < losses[0]


def test_command_line_runs_the_text_classifier(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "minikeras.as_keras",
                           str(SCRIPTS / "text_classifier_conv1d.py"), "200"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "Test accuracy:" in proc.stdout and "conv1d" in proc.stdout   # summary() printed


def test_keras1_imdb_cnn_on_synthetic_sequences():
    ns = run("text_cnn_keras1.py", "1000", folder=LEGACY_SCRIPTS)
    assert ns["score"][1] > 0.9, ns["score"]
    assert type(ns["model"].layers[2]).__name__ == "Conv1D"
    assert ns["model"].layers[2].output_shape == (None, 18, 32)

"""Shared fixtures for every parity test: one Keras import per session, pinned settings.

Importing TensorFlow costs ~10 s, so the whole session shares one import through the
session-scoped ``keras`` fixture; a test module that needs Keras takes ``keras`` as an argument
(or calls ``pytest.importorskip("keras")`` itself). Every test then starts from the same global
settings on both sides, whatever the previous test changed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from minikeras import backend


def _pin_keras(keras: Any) -> None:
    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
    keras.config.set_image_data_format("channels_last")


@pytest.fixture(scope="session")
def keras() -> Any:
    """The real ``keras`` module (TensorFlow backend), imported once; skip if not installed."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = pytest.importorskip("keras")
    _pin_keras(keras)
    _one_thread_tensorflow()
    return keras


def _one_thread_tensorflow() -> None:
    """Run TensorFlow's kernels on one thread.

    With a thread pool, how TF splits a reduction can depend on how busy the machine is (CI
    runs two pytest workers on two cores), which changes float32 rounding from run to run; over
    80 Adam steps of the autoencoder that once grew to 1.5e-5 relative on the loss, while
    single runs stay near 2e-7. One thread makes Keras' numbers repeatable (and frees the
    second core for the other pytest worker).
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TF already ran an op in this process: threads are fixed by now
        pass


@pytest.fixture(autouse=True)
def _clean_minikeras_session():
    """Fresh minikeras names and default settings for each test (Keras is re-pinned by users)."""
    backend.clear_session()
    floatx, fmt, eps = backend.floatx(), backend.image_data_format(), backend.epsilon()
    if "keras" in sys.modules:
        # Keras' initial weights drawn unseeded depend on which tests ran before in this
        # worker (pytest-xdist deals them out differently from run to run), so one float32
        # case could pass in one run and not in the next: every test starts from seed 0.
        sys.modules["keras"].utils.set_random_seed(0)
    yield
    backend.set_floatx(floatx)
    backend.set_image_data_format(fmt)
    backend.set_epsilon(eps)

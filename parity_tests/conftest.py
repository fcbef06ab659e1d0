"""Shared fixtures for every parity test: one Keras import per session, pinned settings.

Importing TensorFlow costs ~10 s, so the whole session shares one import through the
session-scoped ``keras`` fixture; a test module that needs Keras takes ``keras`` as an argument
(or calls ``pytest.importorskip("keras")`` itself). Every test then starts from the same global
settings on both sides, whatever the previous test changed.
"""

from __future__ import annotations

import os
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
    return keras


@pytest.fixture(autouse=True)
def _clean_minikeras_session():
    """Fresh minikeras names and default settings for each test (Keras is re-pinned by users)."""
    backend.clear_session()
    floatx, fmt, eps = backend.floatx(), backend.image_data_format(), backend.epsilon()
    yield
    backend.set_floatx(floatx)
    backend.set_image_data_format(fmt)
    backend.set_epsilon(eps)

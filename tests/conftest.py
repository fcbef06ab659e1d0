"""Shared fixtures: a clean name counter per test, float64 for gradient checks, backends."""

from __future__ import annotations

import pytest

from minikeras import backend


@pytest.fixture(autouse=True)
def _clean_session():
    """Each test starts with fresh layer names and the default settings."""
    backend.clear_session()
    floatx, fmt = backend.floatx(), backend.image_data_format()
    yield
    backend.set_floatx(floatx)
    backend.set_image_data_format(fmt)


@pytest.fixture
def float64():
    """Build layers in float64: finite differences need the precision."""
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")

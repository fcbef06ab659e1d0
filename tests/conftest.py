"""Shared fixtures: a clean name counter per test, float64 for gradient checks, backends."""

from __future__ import annotations

import pytest

# --backend=all|numpy|cupy|sim and the `xp_backend` / `device_backend` fixtures (see there)
from backend_fixtures import (  # noqa: E402,F401
    device_backend,
    pytest_addoption,
    pytest_generate_tests,
    xp_backend,
)

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

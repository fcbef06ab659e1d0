"""One seed for everything random in minikeras (and in Python and NumPy)."""

from __future__ import annotations

import random

import numpy as np

from minikeras import backend


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and minikeras' host generator,
    as ``keras.utils.set_random_seed`` does (two runs with one seed give identical weights)."""
    if not isinstance(seed, int | np.integer):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    backend.set_seed(int(seed))

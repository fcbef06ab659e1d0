"""``keras.optimizers.schedules``: minikeras' learning-rate schedules, unchanged (Keras 2 and
3 spell them alike)."""

from minikeras.optimizers.schedules import *  # noqa: F403
from minikeras.optimizers.schedules import __all__  # noqa: F401

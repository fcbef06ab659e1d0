"""Models: Sequential, the functional Model, and loading."""

from minikeras.models.model import Model
from minikeras.models.sequential import Sequential

__all__ = ["Model", "Sequential"]

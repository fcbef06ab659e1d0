"""Models: Sequential, the functional Model, and loading."""

from minikeras.models.functional import Functional
from minikeras.models.model import Model
from minikeras.models.sequential import Sequential
from minikeras.saving import load_model, model_from_json

__all__ = ["Functional", "Model", "Sequential", "load_model", "model_from_json"]

"""The symbolic graph's old address: it lives in ``minikeras/graph.py`` (below the layers)."""

from minikeras.graph import Input, KerasTensor, Node, call_layer, input_tensor, is_symbolic

__all__ = ["Input", "KerasTensor", "Node", "call_layer", "input_tensor", "is_symbolic"]

"""Parity tests: minikeras side by side with real Keras (TensorFlow backend, CPU)."""

"""``keras.datasets.mnist.load_data()``: full MNIST, or offline the real test split, said.

Keras' ``load_data`` downloads ``mnist.npz``; an old script run offline would stop there.
Here it falls back (with a printed message) to ``load_data_or_fallback``'s split of the real
10,000-image test set, so the script runs; its accuracies are then on 2,000 held-out images.
Scripts that hard-code ``reshape(60000, 784)`` need the full data; ``X.shape[0]`` works on both.
"""

from __future__ import annotations

import numpy as np

from minikeras.datasets import mnist as _mnist

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_data(path: str = "mnist.npz") -> Split:
    train, test, _ = _mnist.load_data_or_fallback(path)
    return train, test

"""The minikeras tutorials: seven classic Keras tutorials, each one file and one notebook.

    python -m tutorials                          # list them
    python -m tutorials mlp                      # run one on minikeras
    python -m tutorials mlp --backend keras      # the same code on Keras 3 (TensorFlow)
    python -m tutorials cnn --quick              # a few seconds, small data (CI)

Each file is in jupytext's percent format (``# %%`` cells): run it as a script, or open it
as a notebook in Jupyter, VS Code or jupytext. Plots go to ``tutorials/output/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: name -> (module, one-line description), in reading order
TUTORIALS: dict[str, tuple[str, str]] = {
    "regression": ("regression", "1. Linear regression: one Dense unit fits y = 0.5x + 2"),
    "mlp": ("mlp", "2. MNIST classifier: Dense(32, relu) -> Dense(10, softmax), RMSprop"),
    "cnn": ("cnn", "3. MNIST CNN: two Conv2D + MaxPooling2D blocks, Dense(1024), Adam"),
    "rnn": ("rnn", "4. MNIST SimpleRNN: read each image row by row, train_on_batch loop"),
    "lstm": ("stateful_lstm", "5. Stateful LSTM: predict cos(t) from sin(t), window by window"),
    "autoencoder": ("autoencoder", "6. MNIST autoencoder with a 2-D code, functional API"),
    "saving": ("saving", "7. Saving and loading: .keras files and .weights.h5"),
}


def load(name: str) -> ModuleType:
    """The tutorial module for ``name`` (a key of ``TUTORIALS``)."""
    if name not in TUTORIALS:
        raise KeyError(f"Unknown tutorial {name!r}; choose one of {list(TUTORIALS)}.")
    return importlib.import_module(f"tutorials.{TUTORIALS[name][0]}")

"""What every tutorial shares: the command line, the framework switch, data, plots.

Kept apart so that each tutorial file reads as the model and its training, nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

OUTPUT_DIR = Path(__file__).resolve().parent / "output"
BACKENDS = ("minikeras", "keras")


def parse_args(argv: list[str] | None, description: str,
               extra: Any = None) -> argparse.Namespace:
    """``--backend minikeras|keras``, ``--quick``, ``--output DIR``, ``--no-show``, ``--seed``.

    ``argv=None`` reads ``sys.argv``; unknown arguments are ignored there, because a Jupyter
    kernel passes its own (``-f kernel.json``) when a tutorial is opened as a notebook.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=BACKENDS, default="minikeras",
                        help="framework that trains the model (default: minikeras)")
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds: small data, few steps (for CI)")
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR,
                        help=f"folder for the plots (default: {OUTPUT_DIR})")
    parser.add_argument("--no-show", action="store_true",
                        help="only save the plots, never open a window")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    if extra is not None:
        extra(parser)
    if argv is None:
        args, _ = parser.parse_known_args(sys.argv[1:] if _is_script() else [])
    else:
        args = parser.parse_args(argv)
    args.output = Path(args.output)
    args.output.mkdir(parents=True, exist_ok=True)
    return args


def _is_script() -> bool:
    return "ipykernel" not in sys.modules


def framework(name: str) -> ModuleType:
    """The module the tutorial calls ``keras``: minikeras, or the real Keras 3 on TensorFlow.

    Both spell the same API (``keras.Sequential``, ``keras.layers.Dense``,
    ``keras.optimizers.Adam``...), which is the point: one tutorial, two frameworks.
    """
    if name == "minikeras":
        import minikeras

        return minikeras
    if name == "keras":
        from minikeras import as_keras

        if as_keras.is_installed():  # `import keras` would give minikeras back
            raise RuntimeError("--backend keras: minikeras.as_keras is installed in this "
                               "session; call minikeras.as_keras.uninstall() first.")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import keras
        except ImportError as exc:
            raise SystemExit("--backend keras needs Keras 3 and TensorFlow: "
                             "pip install keras tensorflow-cpu") from exc
        return keras
    raise ValueError(f"Unknown backend {name!r}; expected one of {BACKENDS}.")


def seed_everything(keras: ModuleType, seed: int) -> None:
    keras.utils.set_random_seed(seed)


# --------------------------------------------------------------------------- data
def load_mnist(args: argparse.Namespace, quick_sizes: tuple[int, int] = (2000, 500)) -> tuple:
    """MNIST as ``(x_train, y_train), (x_test, y_test), info`` (uint8 images, digit labels).

    Full MNIST when it is in the Keras cache (or downloadable); offline, the real
    10,000-image test split cut into 8,000 / 2,000, with a printed message saying so.
    ``--quick`` keeps the first ``quick_sizes`` images of each part.
    """
    from minikeras.datasets import mnist

    (x_train, y_train), (x_test, y_test), info = mnist.load_data_or_fallback()
    if args.quick:
        n_train, n_test = quick_sizes
        x_train, y_train = x_train[:n_train], y_train[:n_train]
        x_test, y_test = x_test[:n_test], y_test[:n_test]
        print(f"--quick: using {len(x_train):,} training and {len(x_test):,} test images.")
    return (x_train, y_train), (x_test, y_test), info


# --------------------------------------------------------------------------- training logs
def batch_logger(keras: ModuleType, every: int = 1) -> Any:
    """A callback that records the running loss (and accuracy) every ``every`` batches.

    ``fit`` keeps only one value per epoch in its History; a curve needs more points.
    The values are Keras' running means over the epoch so far, as the progress bar shows.
    """

    class BatchLogger(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.step = 0
            self.steps: list[int] = []
            self.history: dict[str, list[float]] = {}
            self.epoch_starts: list[int] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch_starts.append(self.step)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.step += 1
            if self.step % every and batch:
                return
            self.steps.append(self.step)
            for key, value in dict(logs or {}).items():
                self.history.setdefault(key, []).append(float(value))

    return BatchLogger()


# --------------------------------------------------------------------------- plots
def pyplot(args: argparse.Namespace) -> Any:
    """matplotlib's pyplot; the file-only Agg backend when there is no display (or --no-show)."""
    import matplotlib

    headless = (args.no_show or (sys.platform.startswith("linux")
                                 and not os.environ.get("DISPLAY")
                                 and not os.environ.get("WAYLAND_DISPLAY")))
    if headless and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(plt: Any, fig: Any, args: argparse.Namespace, name: str) -> Path:
    """Save ``fig`` as ``<output>/<name>_<backend>.png``; show it when a display exists."""
    path = args.output / f"{name}_{args.backend}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"Saved plot: {path}")
    if plt.get_backend().lower() != "agg":
        plt.show()
    plt.close(fig)
    return path


def plot_training(plt: Any, args: argparse.Namespace, name: str, title: str,
                  steps: list[int], history: dict[str, list[float]],
                  test_points: tuple[list[int], list[float]] | None = None,
                  epoch_starts: list[int] | None = None) -> Path:
    """Loss and accuracy curves side by side (the classifiers' plot).

    With ``fit``, the training values are Keras' running means since the start of the epoch
    (what the progress bar prints), so they restart at each epoch boundary (dotted lines).
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    label = "training (running mean in epoch)" if epoch_starts else "training"
    ax_loss.plot(steps, history["loss"], color="tab:blue", label=label)
    ax_loss.set(xlabel="training step (batch)", ylabel="loss", title="loss")
    if "accuracy" in history:
        ax_acc.plot(steps, history["accuracy"], color="tab:blue", label=label)
    for start in (epoch_starts or [])[1:]:
        for ax in (ax_loss, ax_acc):
            ax.axvline(start, color="gray", ls=":", lw=1)
    ax_loss.legend(loc="upper right")
    if test_points is not None and test_points[0]:
        ax_acc.plot(*test_points, "o-", color="tab:orange", label="test")
    ax_acc.set(xlabel="training step (batch)", ylabel="accuracy", title="accuracy")
    ax_acc.legend(loc="lower right")
    fig.suptitle(f"{title} ({args.backend})")
    return save_figure(plt, fig, args, name)


def as_images(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0-255 -> float32 in [0, 1]."""
    return x.astype("float32") / 255.0

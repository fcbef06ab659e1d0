# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 5 · A stateful LSTM that turns sin(t) into cos(t)
#
# The input is the curve sin(t), the target cos(t) at the same instants. At any single
# instant, sin(t) alone cannot tell cos(t) (sin(t) = 0.5 happens where cos(t) = +0.87 and where
# it is −0.87): the network must *remember* whether the curve was going up or down. That is
# what an LSTM's state is for.
#
# The curve is cut into windows of 20 steps. A batch holds 50 windows side by side, and the
# next batch continues each of them: row *i* of batch *k+1* starts where row *i* of batch *k*
# ended. With `stateful=True` the LSTM keeps its final state (h, c) after a batch and starts
# the next batch from it, so each row is one long sequence read 20 steps at a time. This is
# why the batch size must be fixed: `Input(shape=(20, 1), batch_size=50)`.
#
#     (50, 20, 1) → LSTM(20, return_sequences=True, stateful=True) → (50, 20, 20)
#                 → TimeDistributed(Dense(1)) → (50, 20, 1)
#
# trained with `train_on_batch`, Adam (learning rate 0.006) and the mean squared error.
#
# **What happens inside minikeras**
#
# - [`LSTM.forward`](../minikeras/layers/lstm.py) runs, at each step,
#   `z = x_t·W + h_{t−1}·U + b`, split into four gates `i, f, g, o` (sigmoid, sigmoid, tanh,
#   sigmoid), then `c_t = f·c_{t−1} + i·g` and `h_t = o·tanh(c_t)`. With
#   `return_sequences=True` every `h_t` is an output. After the batch,
#   [`rnn_base.py`](../minikeras/layers/rnn_base.py) stores the final (h, c) in
#   `layer.states` for the next batch (they are not weights: the optimizer never sees them).
# - `LSTM.backward` is backpropagation through time over the 20 steps of the window: each
#   gate's derivative (`σ' = σ(1 − σ)`, `tanh' = 1 − tanh²`), the cell path
#   `dc_{t−1} = dc_t·f`, and the sums over time of `dW`, `dU`, `db`. The gradient stops at
#   the window's start: the stored state is a constant, as in Keras (truncated BPTT).
# - [`TimeDistributed(Dense(1))`](../minikeras/layers/wrappers.py) folds time into the batch,
#   (50, 20, 20) → (1000, 20), applies the `Dense` forward/backward once, and unfolds.
#
# The plots show the prediction (dashed) against cos(t) at a few moments of the training (the
# 50 windows of one batch, end to end), plus an animated GIF of them when Pillow is installed.

# %%
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

try:
    from tutorials import _common as common
except ImportError:  # opened as a notebook in tutorials/, or run as `python tutorials/x.py`
    sys.path.insert(0, str(Path(globals().get("__file__", "x")).resolve().parent.parent))
    from tutorials import _common as common

BATCH_SIZE, TIME_STEPS, CELL_SIZE = 50, 20, 20


# %% [markdown]
# ## The data: consecutive windows of one long curve

# %%
class Windows:
    """Batch k holds t = start_k + i·20 + j/(10π) for row i, step j; start advances by 20."""

    def __init__(self) -> None:
        self.start = 0

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = np.arange(self.start, self.start + TIME_STEPS * BATCH_SIZE)
        t = n.reshape(BATCH_SIZE, TIME_STEPS) / (10 * np.pi)
        self.start += TIME_STEPS
        x = np.sin(t)[:, :, None].astype("float32")
        y = np.cos(t)[:, :, None].astype("float32")
        return x, y, t


# %% [markdown]
# ## The model

# %%
def build_model(keras):
    model = keras.Sequential([
        keras.Input(shape=(TIME_STEPS, 1), batch_size=BATCH_SIZE),
        keras.layers.LSTM(CELL_SIZE, return_sequences=True, stateful=True),
        keras.layers.TimeDistributed(keras.layers.Dense(1)),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.006), loss="mse")
    return model


# %% [markdown]
# ## Training, window after window
# At a few steps we *predict* the next window instead of training on it: `predict` also moves
# the stored state forward by one window, so training on that same window afterwards would
# read it twice. The frame then shows the prediction on a window the model has not trained on.

# %%
def train(model, steps: int, frame_steps: list[int]):
    windows = Windows()
    losses: list[float] = []
    frames: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for step in range(steps):
        x, y, t = windows.next_batch()
        if step in frame_steps:
            pred = model.predict(x, batch_size=BATCH_SIZE, verbose=0)
            # The 50 rows of a batch are consecutive pieces of the curve: laid end to end
            # they show 1,000 steps, about 5 periods.
            frames.append((step, t.ravel(), y.ravel(), pred.ravel()))
            print(f"step {step:3d}  train loss {losses[-1]:.4f}  (frame saved)")
            continue
        losses.append(float(model.train_on_batch(x, y)))
    return losses, frames


# %% [markdown]
# ## Plots: a few frames, and an animation

# %%
def plot_frames(plt, args, frames) -> Path:
    cols = min(3, len(frames))
    rows = -(-len(frames) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 2.6 * rows), squeeze=False)
    for ax, (step, t, y, pred) in zip(axes.flat, frames, strict=False):
        ax.plot(t, y, "r-", label="cos(t), target")
        ax.plot(t, pred, "b--", label="prediction")
        ax.set(title=f"after {step} steps", ylim=(-1.3, 1.3), xlabel="t")
    for ax in list(axes.flat)[len(frames):]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Stateful LSTM: sin(t) -> cos(t), the 50 windows of a batch end to end "
                 f"({args.backend})")
    fig.tight_layout()
    return common.save_figure(plt, fig, args, "lstm_frames")


def animate(plt, args, frames) -> Path | None:
    """The frames as a GIF with matplotlib's PillowWriter (None without Pillow)."""
    try:
        import PIL  # noqa: F401  (PillowWriter needs it)
        from matplotlib.animation import FuncAnimation, PillowWriter
    except ImportError:
        print("Pillow is not installed: no GIF (pip install pillow).")
        return None
    fig, ax = plt.subplots(figsize=(8, 3))
    (target,) = ax.plot([], [], "r-", label="cos(t), target")
    (guess,) = ax.plot([], [], "b--", label="prediction")
    ax.set(ylim=(-1.3, 1.3), xlabel="t")
    ax.legend(loc="lower left")

    def draw(i: int):
        step, t, y, pred = frames[i]
        target.set_data(t, y)
        guess.set_data(t, pred)
        ax.set_xlim(t[0], t[-1])
        ax.set_title(f"after {step} training steps ({args.backend})")
        return target, guess

    path = args.output / f"lstm_animation_{args.backend}.gif"
    FuncAnimation(fig, draw, frames=len(frames), blit=False).save(path,
                                                                  writer=PillowWriter(fps=2))
    plt.close(fig)
    print(f"Saved animation: {path}")
    return path


# %%
def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 5: stateful LSTM, sin -> cos.")
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    model = build_model(keras)
    model.summary()
    steps, frame_steps = (61, [10, 30, 60]) if args.quick else (501, [10, 50, 100, 200, 300, 500])
    losses, frames = train(model, steps, frame_steps)

    plt = common.pyplot(args)
    plots = [plot_frames(plt, args, frames)]
    gif = animate(plt, args, frames)
    if gif is not None:
        plots.append(gif)
    return {"losses": losses, "plots": plots}


# %%
if __name__ == "__main__":
    main()

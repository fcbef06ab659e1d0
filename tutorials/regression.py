# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 1 · Linear regression with one `Dense` unit
#
# We draw 200 points on the line **y = 0.5·x + 2**, add a little noise, and ask a model with a
# single weight and a single bias to find that line again. It is the smallest network there is,
# which makes it the best place to watch *everything* that happens in one training step.
#
# **The model.** `Dense(1)` computes `y = x·W + b`, with `W` of shape (1, 1) and `b` of shape
# (1,). The loss is the mean squared error, the optimizer plain stochastic gradient descent
# with learning rate 0.01, and we call `train_on_batch` 301 times on the same 160 points.
#
# **What happens inside minikeras at each `train_on_batch`**
# ([`Model._train_step`](../minikeras/models/model.py)):
#
# 1. *forward* — [`Dense.forward`](../minikeras/layers/core.py) computes `x @ W + b` and keeps
#    `x` in its cache, because the backward pass needs it;
# 2. *loss* — [`MeanSquaredError`](../minikeras/losses.py) returns
#    `L = mean((y − t)²)` and its gradient `dL/dy = 2·(y − t) / N`;
# 3. *backward* — `Dense.backward(dy)` adds `dL/dW = xᵀ·dy` and `dL/db = Σ dy` to the
#    weights' `.grad` (and would return `dL/dx = dy·Wᵀ` to a layer below, but there is none);
# 4. *update* — [`SGD`](../minikeras/optimizers/sgd.py) moves each weight: `w ← w − 0.01·grad`.
#
# Run it with `python -m tutorials regression` (add `--backend keras` to run the very same
# code on Keras 3). The plot shows the data and the fitted line.

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


# %% [markdown]
# ## The data
# 200 values of x in [−1, 1], shuffled; the first 160 train the model, the last 40 test it.

# %%
def make_data(seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, 200)
    rng.shuffle(x)
    y = 0.5 * x + 2 + rng.normal(0, 0.05, (200,))
    # Keras layers read a batch of feature vectors: shape (N, 1), not (N,).
    x, y = x.reshape(-1, 1).astype("float32"), y.reshape(-1, 1).astype("float32")
    return (x[:160], y[:160]), (x[160:], y[160:])


# %% [markdown]
# ## The model
# `keras` is minikeras or Keras 3 depending on `--backend`; the code does not change.

# %%
def build_model(keras):
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model


# %% [markdown]
# ## Training, one batch at a time
# `train_on_batch` runs the four steps above once and returns the loss *before* the update.

# %%
def train(model, x, y, steps: int) -> list[float]:
    losses = []
    for step in range(steps):
        loss = float(model.train_on_batch(x, y))
        losses.append(loss)
        if step % 100 == 0:
            print(f"step {step:3d}  train loss {loss:.4f}")
    return losses


# %% [markdown]
# ## Plot: the data and the fitted line

# %%
def plot_fit(plt, args, x_test, y_test, y_pred, w: float, b: float) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x_test, y_test, s=15, label="test points")
    order = np.argsort(x_test[:, 0])
    ax.plot(x_test[order], y_pred[order], "r-", lw=2, label=f"fit: y = {w:.3f}·x + {b:.3f}")
    ax.plot([-1, 1], [1.5, 2.5], "k:", lw=1, label="true line: y = 0.5·x + 2")
    ax.set(xlabel="x", ylabel="y", title=f"Dense(1) after SGD ({args.backend})")
    ax.legend()
    return common.save_figure(plt, fig, args, "regression_fit")


# %%
def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 1: linear regression with one Dense unit.")
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    (x_train, y_train), (x_test, y_test) = make_data(args.seed)

    model = build_model(keras)
    losses = train(model, x_train, y_train, steps=301)
    test_loss = float(model.evaluate(x_test, y_test, batch_size=40, verbose=0))
    kernel, bias = model.layers[0].get_weights()
    w, b = float(kernel[0, 0]), float(bias[0])
    print(f"test loss {test_loss:.4f}   weight {w:.3f} (true 0.5)   bias {b:.3f} (true 2)")

    plt = common.pyplot(args)
    y_pred = model.predict(x_test, verbose=0)
    path = plot_fit(plt, args, x_test, y_test, y_pred, w, b)
    return {"losses": losses, "test_loss": test_loss, "weights": (w, b), "plots": [path]}


# %%
if __name__ == "__main__":
    main()

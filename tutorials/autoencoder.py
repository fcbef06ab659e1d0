# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 6 · An autoencoder that draws MNIST on a plane
#
# An autoencoder learns to copy its input to its output through a narrow middle: here
# 784 pixels are squeezed to **2 numbers** and expanded back to 784. To succeed, those two
# numbers must capture what matters most about each digit, and since they are 2-D we can
# plot them: each test image becomes a point, coloured by its (never shown) label, and the
# digits arrange themselves into clusters.
#
#     784 → 128 → 64 → 10 → 2 (the code, linear) → 10 → 64 → 128 → 784 (tanh)
#
# Pixels are scaled to [−0.5, 0.5], which is why the output uses tanh; the loss is the mean
# squared error between the output and the input itself (`fit(x, x)`), Adam, batches of 256.
#
# **The functional API.** The model is written with `Input` and layers called on tensors:
# `encoded = Dense(128, activation="relu")(input_img)`. Two models are then built from the same
# tensors: the `autoencoder` (input → reconstruction) and the `encoder` (input → code). They
# **share** the encoder's layers (the same objects, the same weights): training the
# autoencoder trains the encoder, which we only use to read the codes.
#
# **What happens inside minikeras**
#
# - [`Input` and calling a layer on a tensor](../minikeras/graph.py) record nodes of a
#   graph; [`Functional`](../minikeras/models/functional.py) orders them and runs each
#   layer's `forward` in that order, and each `backward` in the reverse order. A layer used
#   by two models keeps one cache per call, so the shared layers are not confused.
# - Each [`Dense`](../minikeras/layers/core.py) backward pass is the one of tutorial 1 and 2
#   (`dW = xᵀ·dy`, `db = Σ dy`, `dx = dy·Wᵀ`) with the derivative of its activation first:
#   `relu'` is 0/1, `tanh'(z) = 1 − tanh²(z)`, the code layer's linear activation has 1.
# - [`MeanSquaredError`](../minikeras/losses.py): `dL/dy = 2·(y − x) / (N·784)`; and
#   [`Adam`](../minikeras/optimizers/adam.py) updates all 8 Dense layers.

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
# ## The data: flat images in [−0.5, 0.5]

# %%
def prepare(x):
    return common.as_images(x).reshape(len(x), 784) - 0.5


# %% [markdown]
# ## The two models, sharing the encoder

# %%
def build_models(keras):
    Dense = keras.layers.Dense
    input_img = keras.Input(shape=(784,))
    h = Dense(128, activation="relu")(input_img)
    h = Dense(64, activation="relu")(h)
    h = Dense(10, activation="relu")(h)
    code = Dense(2)(h)  # linear: the code may use the whole plane
    h = Dense(10, activation="relu")(code)
    h = Dense(64, activation="relu")(h)
    h = Dense(128, activation="relu")(h)
    decoded = Dense(784, activation="tanh")(h)

    autoencoder = keras.Model(input_img, decoded)
    encoder = keras.Model(input_img, code)
    autoencoder.compile(optimizer="adam", loss="mse")
    return autoencoder, encoder


# %% [markdown]
# ## Plot: the codes of the test digits

# %%
def plot_codes(plt, args, codes: np.ndarray, labels: np.ndarray) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set(xlabel="code[0]", ylabel="code[1]",
           title=f"2-D codes of {len(codes):,} test digits ({args.backend})")
    return common.save_figure(plt, fig, args, "autoencoder_codes")


# %%
def add_options(parser) -> None:
    parser.add_argument("--epochs", type=int, default=20, help="passes over the data (20)")


def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 6: MNIST autoencoder with a 2-D code.",
                             add_options)
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    (x_train, _), (x_test, y_test), info = common.load_mnist(args, (1024, 500))
    x_train, x_test = prepare(x_train), prepare(x_test)

    autoencoder, encoder = build_models(keras)
    autoencoder.summary()
    shared = all(a is b for a, b in zip(encoder.layers, autoencoder.layers, strict=False))
    print(f"encoder layers are the autoencoder's first {len(encoder.layers)}: {shared}")

    epochs = 3 if args.quick else args.epochs
    logger = common.batch_logger(keras)
    history = autoencoder.fit(x_train, x_train, epochs=epochs, batch_size=256, shuffle=True,
                              verbose=2, callbacks=[logger])
    test_loss = float(autoencoder.evaluate(x_test, x_test, batch_size=256, verbose=0))
    print(f"reconstruction loss on the test images: {test_loss:.4f}")

    codes = encoder.predict(x_test, batch_size=256, verbose=0)
    plt = common.pyplot(args)
    path = plot_codes(plt, args, codes, y_test)
    return {"losses": [float(v) for v in history.history["loss"]], "test_loss": test_loss,
            "batch_losses": logger.history["loss"], "shared_layers": shared,
            "codes_shape": codes.shape, "plots": [path]}


# %%
if __name__ == "__main__":
    main()

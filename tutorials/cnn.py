# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 3 · A convolutional network for MNIST
#
# Instead of reading 784 unrelated pixels, a convolution slides small 5×5 filters over the
# image, so the same detector (an edge, a curve) is looked for everywhere. Two blocks of
# *convolution → max pooling* turn the 28×28 image into 64 maps of 7×7, which a Dense layer of
# 1024 units and a softmax classify:
#
#     (28,28,1) → Conv2D 32×5×5 same, relu → (28,28,32) → MaxPooling2D 2, same → (14,14,32)
#               → Conv2D 64×5×5 same, relu → (14,14,64) → MaxPooling2D 2, same → (7,7,64)
#               → Flatten → (3136) → Dense 1024 relu → Dense 10 softmax
#
# trained with Adam (learning rate 1e-4) on batches of 64. One epoch on the 8,000-image
# offline fallback reaches about 90 % test accuracy (measured: 90.5 %), more with full MNIST.
# It is the slowest tutorial on minikeras (about 5 GFLOP per batch, all in NumPy: a minute or
# two for 8,000 images, ten or more for 60,000), so `--quick` trains on 320 images only.
#
# **What happens inside minikeras** (all in plain NumPy, readable):
#
# - [`Conv2D.forward`](../minikeras/layers/convolutional.py) pads the image (`same`), then
#   [`im2col`](../minikeras/layers/im2col.py) lays every 5×5×C patch out as one row of a
#   matrix, so the whole convolution is **one matrix product** `cols @ W` (W reshaped to
#   (25·C, filters)), plus the bias and the ReLU.
# - `Conv2D.backward` is that product's derivative: `dW = colsᵀ·dz`, `db = Σ dz`, and
#   `dcols = dz·Wᵀ`, which `col2im` adds back into the image positions each patch came from
#   (overlapping patches accumulate) before the padding is cropped.
# - [`MaxPooling2D`](../minikeras/layers/pooling.py) keeps the largest of each 2×2 window;
#   its backward pass routes the gradient to that one winner and gives 0 to the other three.
# - [`Flatten`](../minikeras/layers/core.py) only reshapes (and its backward reshapes back);
#   the `Dense` layers and the softmax/cross-entropy shortcut are as in tutorial 2, and
#   [`Adam`](../minikeras/optimizers/adam.py) updates the weights.
#
# `--data-format channels_first` stores images as (1, 28, 28) instead of (28, 28, 1), as the
# Theano-era tutorials did; the layers then index channels on axis 1.

# %%
from __future__ import annotations

import sys
from pathlib import Path

try:
    from tutorials import _common as common
except ImportError:  # opened as a notebook in tutorials/, or run as `python tutorials/x.py`
    sys.path.insert(0, str(Path(globals().get("__file__", "x")).resolve().parent.parent))
    from tutorials import _common as common


# %% [markdown]
# ## The data: images with a channel axis

# %%
def prepare(keras, x, y, data_format: str):
    x = common.as_images(x)
    x = x[:, None, :, :] if data_format == "channels_first" else x[:, :, :, None]
    return x, keras.utils.to_categorical(y, num_classes=10)


# %% [markdown]
# ## The model

# %%
def build_model(keras, data_format: str):
    layers = keras.layers
    shape = (1, 28, 28) if data_format == "channels_first" else (28, 28, 1)
    model = keras.Sequential([
        keras.Input(shape=shape),
        layers.Conv2D(32, 5, padding="same", activation="relu", data_format=data_format),
        layers.MaxPooling2D(2, 2, padding="same", data_format=data_format),
        layers.Conv2D(64, 5, padding="same", activation="relu", data_format=data_format),
        layers.MaxPooling2D(2, 2, padding="same", data_format=data_format),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


# %%
def add_options(parser) -> None:
    parser.add_argument("--data-format", choices=("channels_last", "channels_first"),
                        default="channels_last", help="image layout (default: channels_last)")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the data (1)")


def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 3: MNIST CNN.", add_options)
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    (x_train, y_train), (x_test, y_test), info = common.load_mnist(args, (320, 256))
    x_train, y_train = prepare(keras, x_train, y_train, args.data_format)
    x_test, y_test = prepare(keras, x_test, y_test, args.data_format)

    model = build_model(keras, args.data_format)
    model.summary()
    logger = common.batch_logger(keras, every=1 if args.quick else 10)
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, callbacks=[logger])
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"test loss {test_loss:.4f}   test accuracy {test_acc:.4f}   on {len(x_test):,} "
          f"test images ({'full MNIST' if info.full else 'offline fallback split'})")

    plt = common.pyplot(args)
    path = common.plot_training(plt, args, "cnn_training", f"MNIST CNN, {args.data_format}",
                                logger.steps, logger.history,
                                ([logger.step], [float(test_acc)]), logger.epoch_starts)
    return {"losses": logger.history["loss"], "test_loss": float(test_loss),
            "test_accuracy": float(test_acc), "plots": [path]}


# %%
if __name__ == "__main__":
    main()

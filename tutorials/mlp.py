# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 2 · Classifying MNIST digits with a two-layer network
#
# Each 28×28 image becomes a vector of 784 pixels in [0, 1]. A hidden layer of 32 ReLU units
# reads it, and a softmax layer of 10 units turns the result into the probability of each
# digit. Two passes over the training set with RMSprop reach about 92 % test accuracy with the
# 8,000-image offline fallback (measured: 91.6 %), more with full MNIST's 60,000 images. On
# minikeras the whole run takes a few seconds.
#
# **What happens inside minikeras at each batch of 32 images**
# ([`Model._train_step`](../minikeras/models/model.py), called by
# [`fit`](../minikeras/models/trainer.py)):
#
# 1. *forward* — the first [`Dense`](../minikeras/layers/core.py) computes
#    `h = relu(x·W₁ + b₁)`, the second `p = softmax(h·W₂ + b₂)`; each keeps its input (and
#    the ReLU its mask) in `self.cache`.
# 2. *loss* — [`CategoricalCrossentropy`](../minikeras/losses.py) works from the *logits*
#    `z = h·W₂ + b₂`, as Keras' TensorFlow backend does: `L = −mean Σ y·log_softmax(z)`, whose
#    gradient is simply `dL/dz = (softmax(z) − y) / N`. The softmax's own derivative is never
#    formed.
# 3. *backward* — the second Dense starts from `dL/dz` (`backward_from_logits`): it adds
#    `hᵀ·dz` to `W₂.grad`, `Σ dz` to `b₂.grad`, and hands `dz·W₂ᵀ` down. The first Dense
#    multiplies by the ReLU mask (`relu'(a) = 1 where a > 0`) and does the same for `W₁, b₁`
#    (it skips `dL/dx`: its input is data).
# 4. *update* — [`RMSprop`](../minikeras/optimizers/rmsprop.py) keeps a running mean of `g²` per
#    weight and moves `w ← w − lr·g / √(v + ε)`.
#
# The plot shows the running training loss and accuracy batch by batch, and the test accuracy
# after each epoch. Run it with `python -m tutorials mlp [--backend keras] [--quick]`.

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
# ## The data
# Pixels to [0, 1], each image flattened to 784 numbers, labels one-hot encoded (digit 3
# becomes `[0,0,0,1,0,0,0,0,0,0]`), which is what `categorical_crossentropy` expects.

# %%
def prepare(keras, x, y):
    x = common.as_images(x).reshape(len(x), 784)
    return x, keras.utils.to_categorical(y, num_classes=10)


# %% [markdown]
# ## The model

# %%
def build_model(keras):
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


# %% [markdown]
# ## Training
# `fit` cuts the (shuffled) data into batches of 32 and runs one training step per batch.
# A small callback records the running loss and accuracy every few batches for the plot, and
# a second one measures the test accuracy at the end of each epoch.

# %%
def train(keras, model, x_train, y_train, x_test, y_test, epochs: int):
    logger = common.batch_logger(keras, every=10)
    test_points: tuple[list[int], list[float]] = ([], [])

    class TestAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            _, acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
            test_points[0].append(logger.step)
            test_points[1].append(float(acc))
            print(f"  epoch {epoch + 1}: test accuracy {float(acc):.4f}")

    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=2,
              callbacks=[logger, TestAccuracy()])
    return logger, test_points


# %%
def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 2: MNIST classifier with two Dense layers.")
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    (x_train, y_train), (x_test, y_test), info = common.load_mnist(args)
    x_train, y_train = prepare(keras, x_train, y_train)
    x_test, y_test = prepare(keras, x_test, y_test)

    model = build_model(keras)
    model.summary()
    logger, test_points = train(keras, model, x_train, y_train, x_test, y_test, epochs=2)
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    data = "full MNIST" if info.full else "the offline fallback split (see above)"
    print(f"test loss {test_loss:.4f}   test accuracy {test_acc:.4f}   "
          f"on {len(x_test):,} test images of {data}")

    plt = common.pyplot(args)
    path = common.plot_training(plt, args, "mlp_training", "MNIST MLP", logger.steps,
                                logger.history, test_points, logger.epoch_starts)
    return {"losses": logger.history["loss"], "test_loss": float(test_loss),
            "test_accuracy": float(test_acc), "full_mnist": info.full, "plots": [path]}


# %%
if __name__ == "__main__":
    main()

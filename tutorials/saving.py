# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 7 · Saving and loading a model
#
# Training takes time; a trained model should outlive the Python session. Keras 3 has two
# file formats, and minikeras writes both **in Keras' own layout**, so a file saved by one
# framework opens in the other:
#
# - `model.save("m.keras")` — everything: a zip holding `config.json` (the architecture and
#   the `compile` settings), `model.weights.h5` (the weights *and the optimizer's state*) and
#   `metadata.json`. `keras.models.load_model("m.keras")` rebuilds the model, recompiles it
#   and restores the state, so training continues exactly where it stopped.
# - `model.save_weights("m.weights.h5")` — the weights alone, in an HDF5 file. You rebuild the
#   model in code, then call `model.load_weights(...)`.
# - `model.to_json()` / `keras.models.model_from_json(s)` — the architecture alone (fresh,
#   random weights).
#
# We train the classifier of tutorial 2 for one epoch, save it both ways, load it back, and
# check that the loaded models predict exactly the same numbers and that one more training
# step gives the same loss on both.
#
# **Inside minikeras:** [`minikeras/saving/`](../minikeras/saving/__init__.py) writes
# the zip; [`weights_h5.py`](../minikeras/saving/weights_h5.py) walks the layers and writes
# each weight to `layers/<layer>/vars/<i>` (for `Dense`: 0 = kernel, 1 = bias) and the
# optimizer's slots to `optimizer/vars/<i>`; [`config.py`](../minikeras/saving/config.py)
# turns each layer's `get_config()` into JSON and back.

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
# ## A trained model to save

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


def prepare(keras, x, y):
    x = common.as_images(x).reshape(len(x), 784)
    return x, keras.utils.to_categorical(y, num_classes=10)


# %% [markdown]
# ## What is inside a `.weights.h5` file

# %%
def show_h5_tree(path: Path) -> list[str]:
    try:
        import h5py
    except ImportError:
        return []
    lines: list[str] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            lines.append(f"  {name}  {obj.shape} {obj.dtype}")

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    print(f"{path.name}:\n" + "\n".join(lines))
    return lines


# %% [markdown]
# ## Plot: predictions of the saved model against the loaded ones
# Every point on the diagonal means the loaded model gives exactly the original's output.

# %%
def plot_agreement(plt, args, original, loaded: dict[str, np.ndarray]) -> Path:
    fig, axes = plt.subplots(1, len(loaded), figsize=(4.5 * len(loaded), 4), squeeze=False)
    for ax, (name, pred) in zip(axes.flat, loaded.items(), strict=True):
        diff = float(np.abs(pred - original).max())
        ax.scatter(original.ravel(), pred.ravel(), s=3)
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.set(xlabel="original model: probabilities", ylabel=f"loaded from {name}",
               title=f"{name}: max |difference| = {diff:.1e}")
    fig.suptitle(f"Saved and loaded ({args.backend})")
    fig.tight_layout()
    return common.save_figure(plt, fig, args, "saving_agreement")


# %%
def main(argv: list[str] | None = None) -> dict:
    args = common.parse_args(argv, "Tutorial 7: saving and loading models.")
    keras = common.framework(args.backend)
    common.seed_everything(keras, args.seed)
    (x_train, y_train), (x_test, y_test), _ = common.load_mnist(args)
    x_train, y_train = prepare(keras, x_train, y_train)
    x_test, y_test = prepare(keras, x_test, y_test)

    model = build_model(keras)
    logger = common.batch_logger(keras)
    model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2, callbacks=[logger])
    original = model.predict(x_test, verbose=0)

    # 1. The whole model: architecture, weights, compile settings, optimizer state.
    full_path = args.output / f"mnist_mlp_{args.backend}.keras"
    model.save(full_path)
    restored = keras.models.load_model(full_path)
    from_keras_file = restored.predict(x_test, verbose=0)

    # 2. The weights alone: rebuild the model in code, then load. (Keras, and minikeras, warn
    #    that the saved optimizer state is skipped: the new model's optimizer has not taken a
    #    step yet, so it has no slots to fill. The weights are what we want here.)
    weights_path = args.output / f"mnist_mlp_{args.backend}.weights.h5"
    model.save_weights(weights_path)
    show_h5_tree(weights_path)
    rebuilt = build_model(keras)
    rebuilt.load_weights(weights_path)
    from_weights_file = rebuilt.predict(x_test, verbose=0)

    # 3. The architecture alone, as JSON: same layers, fresh weights until load_weights.
    clone = keras.models.model_from_json(model.to_json())
    clone.load_weights(weights_path)
    from_json = clone.predict(x_test, verbose=0)

    # One more training step on the original and on the restored model: the optimizer state
    # travelled in the .keras file, so both take the same step.
    x_batch, y_batch = x_train[:32], y_train[:32]
    step_original = model.train_on_batch(x_batch, y_batch)
    step_restored = restored.train_on_batch(x_batch, y_batch)
    after = float(np.abs(model.predict(x_test, verbose=0)
                         - restored.predict(x_test, verbose=0)).max())
    diffs = {name: float(np.abs(pred - original).max()) for name, pred in
             (("keras", from_keras_file), ("weights_h5", from_weights_file),
              ("json", from_json))}
    print(f"max |difference| from the original: {diffs}")
    print(f"one more step: loss {float(step_original[0]):.6f} (original) vs "
          f"{float(step_restored[0]):.6f} (restored); predictions then differ by {after:.1e}")

    plt = common.pyplot(args)
    path = plot_agreement(plt, args, original, {".keras": from_keras_file,
                                                ".weights.h5": from_weights_file})
    return {"losses": logger.history["loss"], "max_differences": diffs,
            "after_one_step": after, "files": [full_path, weights_path], "plots": [path]}


# %%
if __name__ == "__main__":
    main()

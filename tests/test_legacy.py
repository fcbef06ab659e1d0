"""Keras 1/2 spellings (minikeras.legacy) and old scripts run unchanged (minikeras.as_keras)."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import minikeras as mk
from minikeras import as_keras, backend, layers, legacy, optimizers
from minikeras.utils import np_utils

SCRIPTS = Path(__file__).resolve().parent / "legacy_scripts"
REPO = SCRIPTS.parents[1]


def one_warning(record, *needles: str) -> str:
    """Exactly the DeprecationWarnings expected, each naming the modern spelling."""
    messages = [str(w.message) for w in record if w.category is DeprecationWarning]
    for needle in needles:
        assert any(needle in m for m in messages), (needle, messages)
    assert all("\n" not in m for m in messages), "warnings should be one line"
    return "\n".join(messages)


# --------------------------------------------------------------------------- layer arguments
def test_dense_output_dim_init_input_dim():
    with pytest.warns(DeprecationWarning) as record:
        dense = layers.Dense(output_dim=10, input_dim=784, init="uniform", bias=False)
    one_warning(record, "`output_dim=10`", "use `units=10`", "kernel_initializer='random_uniform'",
                "use_bias=False")
    assert dense.units == 10 and dense.use_bias is False
    model = mk.Sequential([dense])
    assert model.output_shape == (None, 10)
    assert np.abs(dense.get_weights()[0]).max() <= 0.05  # Keras 1 'uniform': U(-0.05, 0.05)


def test_legacy_and_modern_name_together_is_an_error():
    with pytest.raises(TypeError, match="both the legacy keyword argument `output_dim`"):
        layers.Dense(output_dim=3, units=3)


def test_convolution2d_positional_means_kernel_rows_cols():
    with pytest.warns(DeprecationWarning) as record:
        conv = legacy.Convolution2D(32, 5, 5, border_mode="same", subsample=(2, 2),
                                    dim_ordering="th")
    one_warning(record, "Conv2D(32, kernel_size=(5, 5))", "padding='same'", "strides=(2, 2)",
                "data_format='channels_first'")
    assert (conv.kernel_size, conv.strides, conv.padding) == ((5, 5), (2, 2), "same")
    assert conv.data_format == "channels_first" and conv.name.startswith("conv2d")
    assert isinstance(conv, layers.Conv2D)
    # Keras 3 (and minikeras.layers) read the same call as kernel 5, strides 5.
    modern = layers.Conv2D(32, 5, 5)
    assert (modern.kernel_size, modern.strides) == ((5, 5), (5, 5))


def test_convolution2d_output_shape_on_th_images():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mk.Sequential([legacy.Convolution2D(8, 3, 3, input_shape=(1, 28, 28),
                                                    dim_ordering="th"),
                               layers.MaxPooling2D((2, 2), dim_ordering="th")])
    assert model.layers[0].output_shape == (None, 8, 26, 26)
    assert model.output_shape == (None, 8, 13, 13)


def test_nb_filter_nb_row_nb_col_keywords():
    with pytest.warns(DeprecationWarning) as record:
        conv = layers.Conv2D(nb_filter=4, nb_row=3, nb_col=2)
    one_warning(record, "kernel_size=(3, 2)", "filters=4")
    assert conv.filters == 4 and conv.kernel_size == (3, 2)


def test_maxpooling_border_mode_and_default_dim_ordering():
    backend.set_image_data_format("channels_first")
    with pytest.warns(DeprecationWarning, match="padding='same'"):
        pool = layers.MaxPooling2D(pool_size=(2, 2), border_mode="same", dim_ordering="default")
    assert pool.padding == "same" and pool.data_format == "channels_first"


def test_recurrent_legacy_arguments():
    with pytest.warns(DeprecationWarning) as record:
        rnn = layers.SimpleRNN(output_dim=8, input_dim=5, input_length=7)
    one_warning(record, "units=8", "input_shape=(7, 5)")
    assert mk.Sequential([rnn]).output_shape == (None, 8)
    with pytest.warns(DeprecationWarning) as record:
        lstm = layers.LSTM(output_dim=6, batch_input_shape=(4, 7, 5), stateful=True,
                           inner_activation="hard_sigmoid", inner_init="orthogonal",
                           forget_bias_init="one")
    text = one_warning(record, "recurrent_activation='hard_sigmoid'", "slope 1/6",
                       "unit_forget_bias=True", "recurrent_initializer='orthogonal'")
    assert "batch_input_shape" not in text  # not legacy: minikeras accepts it on every layer
    model = mk.Sequential([lstm])
    assert model.output_shape == (4, 6)
    assert lstm.get_weights()[2][6:12].tolist() == [1.0] * 6  # forget-gate bias of ones


def test_dropout_p():
    with pytest.warns(DeprecationWarning, match="`rate=0.25`"):
        assert layers.Dropout(p=0.25).rate == 0.25


def test_unknown_dim_ordering_value():
    with pytest.raises(ValueError, match="dim_ordering"):
        layers.MaxPooling2D(dim_ordering="theano")


# --------------------------------------------------------------------------- model/optimizer API
def test_optimizer_lr_and_decay_as_keras2():
    with pytest.warns(DeprecationWarning) as record:
        opt = optimizers.SGD(lr=0.1, decay=0.5)
    one_warning(record, "`learning_rate`", "lr / (1 + decay * iterations)")
    assert opt.learning_rate == pytest.approx(0.1)
    opt.iterations = 2
    assert opt.learning_rate == pytest.approx(0.1 / (1 + 0.5 * 2))


def test_fit_nb_epoch_to_categorical_nb_classes_predict_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype(int)
    with pytest.warns(DeprecationWarning, match="num_classes=2"):
        y = np_utils.to_categorical(labels, nb_classes=2)
    assert np_utils.to_categorical(labels, 2).shape == (64, 2)
    model = mk.Sequential([mk.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    with pytest.warns(DeprecationWarning, match="use `epochs`"):
        history = model.fit(x, y, nb_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 3
    with pytest.warns(DeprecationWarning, match="np.argmax"):
        classes = model.predict_classes(x)
    np.testing.assert_array_equal(classes, model.predict(x, verbose=0).argmax(-1))
    with pytest.warns(DeprecationWarning, match="model.predict"):
        np.testing.assert_array_equal(model.predict_proba(x), model.predict(x, verbose=0))
    sigmoid = mk.Sequential([mk.Input((4,)), layers.Dense(1, activation="sigmoid")])
    with pytest.warns(DeprecationWarning):
        out = sigmoid.predict_classes(x)
    assert out.shape == (64, 1) and set(np.unique(out)) <= {0, 1}


def test_image_dim_ordering():
    with pytest.warns(DeprecationWarning, match="set_image_data_format\\('channels_first'\\)"):
        backend.set_image_dim_ordering("th")
    assert backend.image_data_format() == "channels_first"
    with pytest.warns(DeprecationWarning, match="image_data_format"):
        assert backend.image_dim_ordering() == "th"
    with pytest.warns(DeprecationWarning):
        backend.set_image_dim_ordering("tf")
    assert backend.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match="'th' or 'tf'"):
        backend.set_image_dim_ordering("channels_first")


# --------------------------------------------------------------------------- import aliasing
def test_install_serves_keras_and_uninstall_restores():
    before = sys.modules.get("keras")
    with as_keras.installed() as keras:
        import keras.layers.convolutional as conv
        import keras.layers.core as core
        import keras.layers.recurrent as rec
        from keras import backend as K
        from keras.models import Model, Sequential
        from keras.optimizers import RMSprop
        from keras.utils import np_utils as shim_np_utils

        assert keras.layers.Dense is layers.Dense and core.Dense is layers.Dense
        assert conv.Convolution2D is legacy.Convolution2D and keras.layers.Conv2D is conv.Conv2D
        assert rec.LSTM is layers.LSTM and shim_np_utils is np_utils
        # keras.backend: minikeras.backend's settings (its math functions are refused)
        assert K.image_data_format is backend.image_data_format
        assert Sequential is mk.Sequential and Model is mk.Model
        assert type(RMSprop(0.01, 0.8, 1e-6)).__name__ == "RMSprop"
        # Keras 2 positional order (lr, rho, epsilon), where Keras 3 has momentum third
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = RMSprop(0.01, 0.8, 1e-6)
        assert (opt.rho, opt.epsilon, opt.momentum) == (0.8, 1e-6, 0.0)
        with pytest.raises(ModuleNotFoundError, match="served by minikeras"):
            import keras.preprocessing.image  # noqa: F401
        with pytest.raises(ImportError):
            from keras.layers import Conv3D  # noqa: F401  (a layer minikeras lacks)
    assert sys.modules.get("keras") is before
    assert not as_keras.is_installed()


def test_keras2_module_paths_of_the_newer_layers():
    """Keras 2 scripts import issue 16's layers from their Keras 2 modules."""
    with as_keras.installed():
        from keras.layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
        from keras.layers.convolutional import Conv1D, Conv2DTranspose, Cropping2D
        from keras.layers.core import Lambda, Permute, RepeatVector
        from keras.layers.embeddings import Embedding
        from keras.layers.merge import Multiply, add, average, concatenate, multiply
        from keras.layers.normalization import BatchNormalization
        from keras.layers.pooling import GlobalMaxPooling1D, MaxPooling1D

        assert (ELU, LeakyReLU, PReLU, ReLU, Softmax) == (
            layers.ELU, layers.LeakyReLU, layers.PReLU, layers.ReLU, layers.Softmax)
        assert (Conv1D, Conv2DTranspose, Cropping2D) == (
            layers.Conv1D, layers.Conv2DTranspose, layers.Cropping2D)
        assert (Lambda, Permute, RepeatVector) == (
            layers.Lambda, layers.Permute, layers.RepeatVector)
        assert Embedding is layers.Embedding and BatchNormalization is layers.BatchNormalization
        assert (Multiply, add, average, concatenate, multiply) == (
            layers.Multiply, layers.add, layers.average, layers.concatenate, layers.multiply)
        assert (GlobalMaxPooling1D, MaxPooling1D) == (
            layers.GlobalMaxPooling1D, layers.MaxPooling1D)
        with pytest.raises(ImportError):
            from keras.layers.merge import merge  # noqa: F401  (Keras 1's, gone in Keras 2)


# --------------------------------------------------------------------------- whole scripts
def run(name: str, *argv: str) -> dict:
    # Keras 1 scripts seed np.random; minikeras draws weights from its own generator.
    mk.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return as_keras.run_script(str(SCRIPTS / name), list(argv))


def test_script_regression():
    ns = run("regression_keras1.py")
    assert abs(float(ns["W"][0, 0]) - 0.5) < 0.05 and abs(float(ns["b"][0]) - 2) < 0.05
    assert ns["cost"] < 0.01
    assert ns["final_lr"] == pytest.approx(0.1 / (1 + 1e-3 * 301), rel=1e-6)


def test_script_mnist_mlp():
    ns = run("mnist_mlp_keras1.py", "3000")
    assert ns["score"][1] > 0.85, ns["score"]
    assert ns["predicted"].shape == (len(ns["X_test"]),)
    assert (ns["predicted"] == ns["y_test"]).mean() == pytest.approx(ns["score"][1], abs=1e-6)


def test_script_mnist_cnn_th_ordering():
    ns = run("mnist_cnn_keras1.py", "640")
    assert ns["conv_output_shape"] == (None, 8, 26, 26)  # 3x3 kernel, not strides 3
    assert ns["pool_output_shape"] == (None, 8, 13, 13)
    assert ns["score"][0] < ns["first_loss"] - 0.3 and ns["score"][1] > 0.3, ns["score"]


def test_script_stateful_lstm():
    ns = run("stateful_lstm_keras1.py", "121")
    assert ns["pred"].shape == (50, 20, 1)
    assert np.mean(ns["costs"][-10:]) < 0.1 * ns["costs"][0]


def test_script_rnn_and_functional_autoencoder():
    ns = run("rnn_autoencoder_keras1.py", "600")
    assert ns["rnn_after"][0] < ns["rnn_before"][0]
    losses = ns["history"].history["loss"]
    assert losses[-1] < losses[0] and ns["encoded_imgs"].shape == (100, 2)
    assert ns["encoder"].layers[1] is ns["autoencoder"].layers[1]


def test_command_line_runs_a_script_unchanged(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "minikeras.as_keras",
                           str(SCRIPTS / "regression_keras1.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "test cost:" in proc.stdout
    # the modern spelling is shown, pointing at the script's own line
    assert "regression_keras1.py" in proc.stderr and "use `units=1`" in proc.stderr


def test_command_line_runs_the_saving_tutorial_on_1d_data(tmp_path):
    """The seed's saving tutorial as written: 1-D X through train_on_batch, model.save('.h5'),
    del, load_model, predict on X_test[0:2] (Keras 3 expands (N,) to (N, 1) for Input (1,))."""
    proc = subprocess.run([sys.executable, "-m", "minikeras.as_keras",
                           str(SCRIPTS / "save_load_keras1.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "my_model.h5").is_file()
    lines = dict(line.split(":", 1) for line in proc.stdout.replace("\n ", " ").splitlines()
                 if line.startswith("test "))
    before = np.array(re.findall(r"[-+\d.e]+", lines["test before save"]), float)
    after = np.array(re.findall(r"[-+\d.e]+", lines["test after load"]), float)
    assert before.shape == (2,) and np.array_equal(before, after)
    assert np.all(np.isfinite(before)) and np.all(np.abs(before - 2) < 1)


def test_positional_learning_rate_is_not_called_lr_spelling() -> None:
    """``Adam(0.01)`` is the learning rate in Keras 1/2 and 3 alike: no `lr` deprecation
    warning for it, while ``Adam(lr=0.01)`` still gets one."""
    from minikeras._keras_shim import optimizers as keras_optimizers

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        opt = keras_optimizers.Adam(0.01)
    assert abs(float(opt.learning_rate) - 0.01) < 1e-8
    with pytest.warns(DeprecationWarning, match="`lr` is Keras 1/2 spelling"):
        keras_optimizers.Adam(lr=0.01)

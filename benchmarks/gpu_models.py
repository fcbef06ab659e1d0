"""What the GPU check runs: one small case per layer type, and the six tutorial models.

``LAYER_CASES`` lists, per layer class of ``minikeras.layers``, one or more small
configurations (constructor + input shapes). ``benchmarks.gpu_check`` and
``tests/test_backends.py`` both use them: a case runs forward and backward on NumPy and on
CuPy from the same weights, and a float64 gradient check on CuPy. Cases whose class does
not exist (yet) are skipped.

``MODELS`` describes the six tutorial models (built from their one definition in
``parity_tests/models.py``) with one synthetic batch each, in minikeras and, for the timing
comparison, as the benchmark suite's equivalent PyTorch model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Shapes = tuple[int, ...] | list[tuple[int, ...]]


@dataclass(frozen=True)
class LayerCase:
    cls: str                            # class name in minikeras.layers
    label: str                          # unique id
    make: Callable[[Any], Any]          # layers module -> a fresh layer
    shapes: Shapes                      # input shape (batch first), or a list for merges
    training: bool = False
    integers: int | None = None         # inputs: integers in [0, integers) (Embedding ids)


def _cases() -> list[LayerCase]:
    c = LayerCase
    two = [(3, 4), (3, 4)]
    return [
        c("Dense", "dense_relu", lambda L: L.Dense(6, activation="relu"), (4, 5)),
        c("Dense", "dense_softmax_3d", lambda L: L.Dense(4, activation="softmax"), (3, 2, 5)),
        c("Activation", "activation_tanh", lambda L: L.Activation("tanh"), (4, 6)),
        c("Activation", "activation_sigmoid", lambda L: L.Activation("sigmoid"), (4, 6)),
        c("Activation", "activation_softmax", lambda L: L.Activation("softmax"), (4, 6)),
        c("Activation", "activation_gelu", lambda L: L.Activation("gelu"), (4, 6)),
        c("Activation", "activation_elu", lambda L: L.Activation("elu"), (4, 6)),
        c("Activation", "activation_softplus", lambda L: L.Activation("softplus"), (4, 6)),
        c("Flatten", "flatten", lambda L: L.Flatten(), (3, 2, 4, 2)),
        c("Flatten", "flatten_channels_first",
          lambda L: L.Flatten(data_format="channels_first"), (3, 2, 4, 2)),
        c("Reshape", "reshape", lambda L: L.Reshape((3, 4)), (2, 12)),
        c("Dropout", "dropout_inference", lambda L: L.Dropout(0.5), (3, 7)),
        c("Conv2D", "conv2d_same_relu",
          lambda L: L.Conv2D(4, 3, padding="same", activation="relu"), (2, 7, 7, 3)),
        c("Conv2D", "conv2d_valid_stride2", lambda L: L.Conv2D(3, (3, 2), strides=2),
          (2, 8, 7, 2)),
        c("Conv2D", "conv2d_dilation2", lambda L: L.Conv2D(2, 3, dilation_rate=2), (2, 8, 8, 2)),
        c("Conv2D", "conv2d_channels_first_softmax",
          lambda L: L.Conv2D(3, 3, padding="same", activation="softmax",
                             data_format="channels_first"), (2, 2, 6, 5)),
        c("ZeroPadding2D", "zeropadding2d", lambda L: L.ZeroPadding2D(((1, 2), (0, 1))),
          (2, 4, 3, 2)),
        c("UpSampling2D", "upsampling2d", lambda L: L.UpSampling2D((2, 3)), (2, 3, 2, 2)),
        c("MaxPooling2D", "maxpool_same", lambda L: L.MaxPooling2D((2, 2), padding="same"),
          (2, 5, 5, 3)),
        c("MaxPooling2D", "maxpool_channels_first",
          lambda L: L.MaxPooling2D((3, 3), strides=2, data_format="channels_first"),
          (2, 2, 7, 7)),
        c("AveragePooling2D", "avgpool_same",
          lambda L: L.AveragePooling2D((3, 3), strides=2, padding="same"), (2, 6, 5, 2)),
        c("GlobalAveragePooling2D", "global_avgpool",
          lambda L: L.GlobalAveragePooling2D(), (2, 4, 3, 5)),
        c("GlobalMaxPooling2D", "global_maxpool",
          lambda L: L.GlobalMaxPooling2D(keepdims=True), (2, 4, 3, 5)),
        c("SimpleRNN", "simple_rnn_seq", lambda L: L.SimpleRNN(5, return_sequences=True),
          (3, 4, 2)),
        c("LSTM", "lstm_last", lambda L: L.LSTM(4), (3, 5, 2)),
        c("LSTM", "lstm_seq_backwards",
          lambda L: L.LSTM(3, return_sequences=True, go_backwards=True), (2, 4, 3)),
        c("GRU", "gru_seq", lambda L: L.GRU(4, return_sequences=True), (3, 4, 2)),
        c("Bidirectional", "bidirectional_lstm_concat_seq",
          lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True)), (2, 4, 3)),
        c("Bidirectional", "bidirectional_gru_mul",
          lambda L: L.Bidirectional(L.GRU(3), merge_mode="mul"), (3, 5, 2)),
        c("TimeDistributed", "time_distributed_dense",
          lambda L: L.TimeDistributed(L.Dense(3, activation="tanh")), (2, 4, 5)),
        c("Add", "add", lambda L: L.Add(), two),
        c("Subtract", "subtract", lambda L: L.Subtract(), two),
        c("Multiply", "multiply", lambda L: L.Multiply(), two),
        c("Average", "average", lambda L: L.Average(), two),
        c("Maximum", "maximum", lambda L: L.Maximum(), two),
        c("Minimum", "minimum", lambda L: L.Minimum(), two),
        c("Concatenate", "concatenate", lambda L: L.Concatenate(axis=-1), [(3, 4), (3, 2)]),
        c("Dot", "dot", lambda L: L.Dot(axes=-1), two),
        c("ReLU", "relu_capped_leaky",
          lambda L: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5), (4, 6)),
        c("LeakyReLU", "leaky_relu", lambda L: L.LeakyReLU(0.2), (4, 6)),
        c("ELU", "elu", lambda L: L.ELU(alpha=0.5), (4, 6)),
        c("Softmax", "softmax_axis1", lambda L: L.Softmax(axis=1), (3, 4, 5)),
        c("PReLU", "prelu_shared",
          lambda L: L.PReLU(alpha_initializer="random_normal", shared_axes=[1]), (3, 4, 5)),
        c("RepeatVector", "repeat_vector", lambda L: L.RepeatVector(3), (4, 5)),
        c("Permute", "permute", lambda L: L.Permute((2, 1)), (3, 4, 5)),
    ] + _new_layer_cases()


def _new_layer_cases() -> list[LayerCase]:
    """Normalization, sequence and transposed-convolution layers (issue 16)."""
    c = LayerCase
    return [
        c("BatchNormalization", "batch_norm_training", lambda L: L.BatchNormalization(),
          (6, 4), training=True),
        c("BatchNormalization", "batch_norm_inference_axis1",
          lambda L: L.BatchNormalization(axis=1), (2, 3, 4, 2)),
        c("LayerNormalization", "layer_norm_2axes", lambda L: L.LayerNormalization(axis=[1, 2]),
          (3, 4, 5)),
        c("Embedding", "embedding", lambda L: L.Embedding(7, 3), (3, 5), integers=7),
        c("Conv1D", "conv1d_causal_dilated",
          lambda L: L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh"),
          (2, 9, 2)),
        c("Conv1D", "conv1d_channels_first_same",
          lambda L: L.Conv1D(3, 2, strides=2, padding="same", data_format="channels_first"),
          (2, 2, 7)),
        c("MaxPooling1D", "maxpool1d_same", lambda L: L.MaxPooling1D(3, 2, padding="same"),
          (2, 7, 3)),
        c("AveragePooling1D", "avgpool1d", lambda L: L.AveragePooling1D(2), (2, 6, 3)),
        c("GlobalMaxPooling1D", "global_maxpool1d", lambda L: L.GlobalMaxPooling1D(),
          (2, 5, 3)),
        c("GlobalAveragePooling1D", "global_avgpool1d_channels_first",
          lambda L: L.GlobalAveragePooling1D(data_format="channels_first", keepdims=True),
          (2, 3, 5)),
        c("Conv2DTranspose", "conv2d_transpose_same_stride2",
          lambda L: L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu"),
          (2, 4, 3, 2)),
        c("Conv2DTranspose", "conv2d_transpose_channels_first",
          lambda L: L.Conv2DTranspose(2, (2, 3), strides=(2, 1), data_format="channels_first"),
          (2, 3, 3, 4)),
        c("Cropping2D", "cropping2d", lambda L: L.Cropping2D(((1, 0), (0, 2))), (2, 4, 5, 2)),
    ] + _more_layer_cases()


def _more_layer_cases() -> list[LayerCase]:
    """Dot, Rescaling, the noise layers (inference: their training noise is drawn by each
    backend's own generator), Identity and the 1-D reshaping layers."""
    c = LayerCase
    return [
        c("Dot", "dot_axes_2_1_normalize", lambda L: L.Dot(axes=(2, 1), normalize=True),
          [(2, 3, 4), (2, 4, 5)]),
        c("Rescaling", "rescaling_per_channel",
          lambda L: L.Rescaling([0.5, -2.0, 3.0], offset=1.5), (2, 4, 3)),
        c("SpatialDropout1D", "spatial_dropout1d_inference", lambda L: L.SpatialDropout1D(0.5),
          (2, 4, 3)),
        c("SpatialDropout2D", "spatial_dropout2d_inference",
          lambda L: L.SpatialDropout2D(0.5, data_format="channels_first"), (2, 3, 4, 2)),
        c("GaussianNoise", "gaussian_noise_inference", lambda L: L.GaussianNoise(0.5), (3, 5)),
        c("GaussianDropout", "gaussian_dropout_inference", lambda L: L.GaussianDropout(0.3),
          (3, 5)),
        c("Identity", "identity", lambda L: L.Identity(), (3, 2, 4)),
        c("ZeroPadding1D", "zeropadding1d", lambda L: L.ZeroPadding1D((2, 1)), (2, 4, 3)),
        c("Cropping1D", "cropping1d", lambda L: L.Cropping1D((1, 2)), (2, 6, 3)),
        c("UpSampling1D", "upsampling1d", lambda L: L.UpSampling1D(3), (2, 4, 3)),
        c("Normalization", "normalization_given",
          lambda L: L.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 9.0]),
          (2, 4, 3)),
        c("Normalization", "normalization_invert", lambda L: L.Normalization(
            axis=None, mean=3.0, variance=2.0, invert=True), (3, 5)),
    ]


LAYER_CASES: list[LayerCase] = _cases()

#: Aliases and non-layers in ``minikeras.layers.__all__`` that need no case of their own.
NOT_LAYERS = frozenset({
    "Input", "InputLayer", "InputSpec", "Layer", "deserialize_layer", "serialize_layer",
    "Convolution2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "Lambda",   # refused at construction (no autodiff): nothing to run
})
NOT_LAYERS |= {"MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "GlobalMaxPool1D", "Convolution1D",
               "Convolution2DTranspose"}


def case_inputs(case: LayerCase, seed: int = 0) -> list[np.ndarray]:
    """Float64 inputs of a case (cast to the dtype under test by the caller)."""
    rng = np.random.default_rng(seed)
    shapes = case.shapes if isinstance(case.shapes, list) else [case.shapes]
    if case.integers is not None:
        return [rng.integers(0, case.integers, s).astype(np.float64) for s in shapes]
    return [rng.standard_normal(s) for s in shapes]


# --------------------------------------------------------------------------- the six models
@dataclass(frozen=True)
class ModelCase:
    key: str
    title: str
    batch: int
    build: Callable[[Any], Any]         # minikeras module -> compiled model
    torch_build: Callable[..., Any]     # (torch, x, y) -> TorchStep
    data: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    classify: bool = False


def _onehot(rng: np.random.Generator, n: int, k: int = 10) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


def _images(shape: tuple[int, ...]) -> Callable[[np.random.Generator], tuple]:
    return lambda rng: (rng.random(shape, dtype=np.float32), _onehot(rng, shape[0]))


def _compiled(key: str) -> Callable[[Any], Any]:
    """minikeras -> tutorial model ``key`` (``parity_tests/models.py``), compiled."""
    def build(mk: Any) -> Any:
        from parity_tests.models import build_compiled

        return build_compiled(key, mk)

    return build


# --------------------------------------------------------------------------- PyTorch twins
class TorchStep:
    """One PyTorch training step of an equivalent model, on the GPU (data already there)."""

    def __init__(self, torch: Any, net: Any, opt: Callable, loss: Callable, x: np.ndarray,
                 y: np.ndarray, classify: bool, stateful: bool = False) -> None:
        dev = torch.device("cuda")
        self.torch, self.net, self.loss = torch, net.to(dev), loss
        self.opt = opt(self.net.parameters())  # made after the move: it holds the parameters
        self.x = torch.as_tensor(x, device=dev)
        self.y = torch.as_tensor(y, device=dev)
        self.target = self.y.argmax(-1) if classify else self.y
        self.classify, self.stateful = classify, stateful
        self.correct = torch.zeros((), device=dev)  # accuracy stays on the device, as ours

    def __call__(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        out = self.net(self.x)
        loss = self.loss(out, self.target)
        loss.backward()
        self.opt.step()
        if self.classify:
            self.correct += (out.argmax(-1) == self.target).float().mean().detach()


def _twin(key: str) -> Callable[..., TorchStep]:
    """(torch, x, y) -> a GPU step of the benchmark suite's PyTorch twin of ``key``."""
    def build(torch: Any, x: np.ndarray, y: np.ndarray) -> TorchStep:
        from benchmarks.suite import torch_models as tm

        if key == "cnn":  # PyTorch's native layout is NCHW: the same images in its layout
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        classify = key in tm.CLASSIFIERS
        loss = torch.nn.functional.cross_entropy if classify else torch.nn.functional.mse_loss
        return TorchStep(torch, tm.net(torch, key), tm.optimizer(torch, key), loss, x, y,
                         classify, stateful=key == "lstm")

    return build


def _regression_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, (160, 1)).astype(np.float32)
    return x, (0.5 * x + 2).astype(np.float32)


def _lstm_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 6.3, (50, 1, 1)) + 0.1 * np.arange(20)[None, :, None]
    return np.sin(t).astype(np.float32), np.cos(t).astype(np.float32)


def _ae_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.random((256, 784), dtype=np.float32)
    return x, x


MODELS: list[ModelCase] = [
    ModelCase("regression", "1 Regression Dense(1), SGD, batch 160", 160,
              _compiled("regression"), _twin("regression"), _regression_data),
    ModelCase("mlp", "2 MLP 784-32-10, RMSprop, batch 32", 32, _compiled("mlp"), _twin("mlp"),
              _images((32, 784)), classify=True),
    ModelCase("cnn", "3 CNN conv32-pool-conv64-pool-1024-10, Adam, batch 64", 64,
              _compiled("cnn_channels_last"), _twin("cnn"), _images((64, 28, 28, 1)),
              classify=True),
    ModelCase("rnn", "4 SimpleRNN(50) 28x28, Adam, batch 50", 50, _compiled("rnn"),
              _twin("rnn"), _images((50, 28, 28)), classify=True),
    ModelCase("lstm", "5 Stateful LSTM(20) 50x20x1, Adam", 50, _compiled("lstm"),
              _twin("lstm"), _lstm_data),
    ModelCase("autoencoder", "6 Autoencoder 784-...-2-...-784, Adam, batch 256", 256,
              _compiled("autoencoder"), _twin("autoencoder"), _ae_data),
]

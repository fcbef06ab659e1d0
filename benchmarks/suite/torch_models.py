"""PyTorch (CPU) twins of the tutorial models, with the three calls the suite times.

The networks are those of ``benchmarks/gpu_models.py`` (``_t_*``), written again here for
the CPU: there ``TorchStep`` moves everything to CUDA. Same layer sizes, optimizers with
Keras' hyper-parameters (RMSprop alpha 0.9, eps 1e-7...), cross-entropy on logits (what
Keras computes too once it sees softmax + categorical crossentropy). The CNN reads NCHW
images, PyTorch's native layout.

``TorchModel`` mimics the Keras calls: ``train_on_batch`` returns the loss as a float (so
the step has finished, as Keras' returned NumPy value guarantees), ``fit`` is the plain loop
over consecutive slices of one tensor (no DataLoader: the cheapest idiomatic loop), and
``predict`` runs under ``torch.inference_mode`` and returns a NumPy array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

AE_UNITS = (128, 64, 10, 2, 10, 64, 128)


class TorchModel:
    def __init__(self, torch: Any, net: Any, opt: Callable, loss: Callable, classify: bool,
                 nchw: bool = False) -> None:
        self.torch, self.net, self.loss = torch, net, loss
        self.opt = opt(net.parameters())
        self.classify, self.nchw = classify, nchw
        self.accuracy = 0.0

    def tensor(self, a: np.ndarray) -> Any:
        """Input batch as a tensor in the network's layout (a view when no transpose)."""
        if self.nchw and a.ndim == 4 and a.shape[-1] == 1:
            a = np.ascontiguousarray(a.transpose(0, 3, 1, 2))
        return self.torch.from_numpy(a)

    def target(self, y: np.ndarray) -> Any:
        t = self.torch.from_numpy(y)
        return t.argmax(-1) if self.classify else t

    def step(self, x: Any, t: Any) -> float:
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        out = self.net(x)
        loss = self.loss(out, t)
        loss.backward()
        self.opt.step()
        if self.classify:  # accuracy, as the Keras models' metrics=["accuracy"] compute it
            self.accuracy = float((out.argmax(-1) == t).float().mean())
        return float(loss)

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.step(self.tensor(x), self.target(y))

    def fit(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        xt, tt = self.tensor(x), self.target(y)
        for s in range(0, len(x), batch_size):
            self.step(xt[s:s + batch_size], tt[s:s + batch_size])

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        self.net.eval()
        xt = self.tensor(x)
        with self.torch.inference_mode():
            outs = [self.net(xt[s:s + batch_size]) for s in range(0, len(x), batch_size)]
        return self.torch.cat(outs).numpy()

    def reset_states(self) -> None:
        if hasattr(self.net, "state"):
            self.net.state = None


def _adam(torch: Any, lr: float) -> Callable:
    return lambda p: torch.optim.Adam(p, lr=lr, eps=1e-7)


def net(torch: Any, key: str) -> Any:
    """The PyTorch network of suite model ``key`` (also the GPU check's twin)."""
    nn = torch.nn
    if key == "regression":
        return nn.Linear(1, 1)
    if key == "mlp":
        return nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    if key == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(),
                             nn.Linear(1024, 10))
    if key == "rnn":
        return rnn_net(torch)
    if key == "lstm":
        return lstm_net(torch)
    if key == "convnet":  # keras-io simple MNIST convnet ('valid' 3x3, pools of 2)
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Dropout(0.5), nn.Linear(5 * 5 * 64, 10))
    if key == "hrnn":
        return hrnn_net(torch)
    if key == "autoencoder":
        dims = (784, *AE_UNITS)
        acts = [True, True, True, False, True, True, True]  # the 2-D code is linear
        layers: list[Any] = []
        for i, act in enumerate(acts):
            layers += [nn.Linear(dims[i], dims[i + 1])] + ([nn.ReLU()] if act else [])
        return nn.Sequential(*layers, nn.Linear(128, 784), nn.Tanh())
    raise KeyError(f"no PyTorch twin for {key!r}")


def optimizer(torch: Any, key: str) -> Callable:
    """Parameters -> the optimizer of ``key``'s tutorial, with Keras' hyper-parameters."""
    if key == "regression":
        return lambda p: torch.optim.SGD(p, lr=0.01)
    if key == "mlp":
        return lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7)
    if key == "hrnn":
        return lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7)
    lr = {"cnn": 1e-4, "rnn": 0.001, "lstm": 0.006, "autoencoder": 0.001,
          "convnet": 0.001}[key]
    return lambda p: torch.optim.Adam(p, lr=lr, eps=1e-7)


#: the twins that classify (cross-entropy on logits, accuracy); the others use mse
CLASSIFIERS = ("mlp", "cnn", "rnn", "convnet", "hrnn")


def build(torch: Any, key: str) -> TorchModel:
    """The twin of suite model ``key`` (``cnn_channels_first`` has none)."""
    classify = key in CLASSIFIERS
    loss = torch.nn.functional.cross_entropy if classify else torch.nn.functional.mse_loss
    return TorchModel(torch, net(torch, key), optimizer(torch, key), loss, classify,
                      nchw=key in ("cnn", "convnet"))


def rnn_net(torch: Any) -> Any:
    """SimpleRNN(50) over 28 rows -> Dense(10) logits."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.fc = nn.RNN(28, 50, batch_first=True), nn.Linear(50, 10)

        def forward(self, inp: Any) -> Any:
            return self.fc(self.rnn(inp)[1][-1])

    return Net()


def lstm_net(torch: Any) -> Any:
    """Stateful LSTM(20) -> per-step Dense(1)."""
    nn = torch.nn

    class Net(nn.Module):
        """Stateful: the final (h, c) of a batch starts the next one (no gradient across)."""

        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(1, 20, batch_first=True), nn.Linear(20, 1)
            self.state: Any = None

        def forward(self, inp: Any) -> Any:
            out, (h, c) = self.lstm(inp, self.state)
            self.state = (h.detach(), c.detach())
            return self.fc(out)

    return Net()


def hrnn_net(torch: Any) -> Any:
    """keras-io hierarchical RNN: LSTM(128) over each row's 28 pixels, LSTM(128) over the
    28 row codes, Dense(10) logits. Input (N, 28, 28, 1) as Keras reads it."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rows, self.cols = nn.LSTM(1, 128, batch_first=True), nn.LSTM(128, 128,
                                                                             batch_first=True)
            self.fc = nn.Linear(128, 10)

        def forward(self, inp: Any) -> Any:
            n, h, w, c = inp.shape
            rows = self.rows(inp.reshape(n * h, w, c))[1][0][-1]      # (N*28, 128): h_T
            return self.fc(self.cols(rows.reshape(n, h, -1))[1][0][-1])

    return Net()

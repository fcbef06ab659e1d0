"""What a Keras tutorial's Lambda layer and custom loss become on minikeras, which has no
automatic differentiation: a small Layer with its own backward, a Loss with its gradient.

    python -m minikeras.as_keras tests/example_scripts/custom_pieces.py

The script first tries the Keras way and prints the message minikeras gives, then writes
the two pieces as the message says, and trains with them on synthetic data.
"""

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(1337)  # the same weights and dropout masks on every run

try:
    layers.Lambda(lambda v: v * 2)
    print("Lambda accepted")
except NotImplementedError as error:
    print("Lambda refused:", str(error).splitlines()[0])


class Scale(keras.layers.Layer):
    """y = s * x with a fixed factor s."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def forward(self, x, training=False):
        return self.factor * x

    def backward(self, dy):
        """dx = s * dy."""
        return self.factor * dy

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class HalfSquaredError(keras.losses.Loss):
    """l = mean((y - p)^2) / 2 over the last axis; dl/dp = (p - y) / D."""

    def compute(self, y_true, y_pred, logits=None):
        diff = y_pred - y_true
        return (diff * diff).mean(axis=-1) / 2, diff / y_pred.shape[-1], False


rng = np.random.default_rng(0)
x = rng.standard_normal((256, 3)).astype("float32")
y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32") + 0.3

model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1), Scale(0.5)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=HalfSquaredError())
history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
print("loss: first epoch", history.history["loss"][0], "last", history.history["loss"][-1])
kernel, bias = model.layers[0].get_weights()
print("learned (kernel * 0.5):", (kernel[:, 0] * 0.5).round(3), "bias * 0.5:",
      round(float(bias[0]) * 0.5, 3))

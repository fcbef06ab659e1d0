"""Two small sequence models built from Keras 3's activation and reshaping layers, on
synthetic data. Run it through minikeras (or under real Keras, unchanged):

    python -m minikeras.as_keras tests/example_scripts/sequence_activation_layers.py [epochs]

1. Reverse a sequence of digits: Permute puts time last, a Dense layer mixes the time steps
   (it can learn the reversal exactly), Permute puts time back; LeakyReLU and a Softmax
   layer finish.
2. Expand two numbers (a, b) into the sequence a + b*t, t = 0..5: an encoder with PReLU,
   RepeatVector to give each time step the code, a SimpleRNN, ELU; the learning rate
   follows a LearningRateScheduler.
"""

import sys

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(1337)  # the same weights and dropout masks on every run

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
rng = np.random.default_rng(7)

# --- 1. reversal
steps, digits = 6, 8
seqs = rng.integers(0, digits, (2000, steps))
x = keras.utils.to_categorical(seqs, digits).reshape(-1, steps, digits)
y = keras.utils.to_categorical(seqs[:, ::-1], digits).reshape(-1, steps, digits)

reverser = keras.Sequential([
    keras.Input(shape=(steps, digits)),
    layers.Permute((2, 1)),            # (digits, steps)
    layers.Dense(steps),               # mixes the time steps
    layers.Permute((2, 1)),            # (steps, digits)
    layers.Dense(32),
    layers.LeakyReLU(negative_slope=0.1),
    layers.Dense(digits),
    layers.Softmax(),
])
reverser.summary()
reverser.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                 loss="categorical_crossentropy", metrics=["accuracy"])
reverser.fit(x[:1600], y[:1600], batch_size=64, epochs=max(epochs // 3, 1), verbose=2)
reverse_loss, reverse_accuracy = reverser.evaluate(x[1600:], y[1600:], verbose=0)
print("Reversal accuracy:", reverse_accuracy)

# --- 2. a + b*t
length = 6
ab = rng.uniform(-1, 1, (1200, 2)).astype("float32")
t = np.arange(length, dtype="float32")
series = (ab[:, :1] + 0.2 * ab[:, 1:] * t)[..., None]

expander = keras.Sequential([
    keras.Input(shape=(2,)),
    layers.Dense(16),
    layers.PReLU(),
    layers.RepeatVector(length),       # (length, 16): the code at every step
    layers.SimpleRNN(16, return_sequences=True),
    layers.ELU(alpha=0.5),
    layers.TimeDistributed(layers.Dense(1)),
])
expander.summary()
expander.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")


def schedule(epoch, lr):
    return lr if epoch < epochs // 2 else lr * 0.9


history = expander.fit(ab[:1000], series[:1000], batch_size=32, epochs=epochs, verbose=0,
                       callbacks=[keras.callbacks.LearningRateScheduler(schedule)])
series_mse = expander.evaluate(ab[1000:], series[1000:], verbose=0)
print("Series MSE: first epoch", history.history["loss"][0], "test", series_mse)
print("Last learning rate:", history.history["learning_rate"][-1])

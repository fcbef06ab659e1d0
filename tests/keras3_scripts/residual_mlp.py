"""A residual MLP in Keras 3 spelling: `x += residual` on symbolic tensors.

Synthetic data: 8 features, the class is which of 4 fixed directions the point is closest to.
Run under minikeras with `python -m minikeras.as_keras residual_mlp.py [epochs]`.
"""

import sys

import keras
import numpy as np
from keras import layers

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
rng = np.random.default_rng(0)
centers = rng.standard_normal((4, 8)).astype("float32")
x_train = rng.standard_normal((2000, 8)).astype("float32")
y_train = np.argmax(x_train @ centers.T, axis=1)
x_test = rng.standard_normal((500, 8)).astype("float32")
y_test = np.argmax(x_test @ centers.T, axis=1)

inputs = keras.Input(shape=(8,))
x = layers.Dense(64, activation="relu")(inputs)
for _ in range(2):
    residual = x
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64)(x)
    x += residual                      # the skip connection: an Add operation in the graph
    x = layers.Activation("relu")(x)
x = 0.5 * x                            # constants work too
outputs = layers.Dense(4, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="residual_mlp")
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
first_loss = model.evaluate(x_test, y_test, verbose=0)[0]
history = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2,
                    validation_split=0.1)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

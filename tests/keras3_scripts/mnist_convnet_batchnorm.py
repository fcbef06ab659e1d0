"""Keras' "Simple MNIST convnet" example with BatchNormalization after each convolution.

    python -m minikeras.as_keras tests/keras3_scripts/mnist_convnet_batchnorm.py [n_train]

Convolutions feeding a BatchNormalization have no bias (``use_bias=False``): the
normalisation subtracts the mean anyway, and beta is the bias. ``momentum=0.9`` rather than
Keras' 0.99: this run is a few dozen steps, and the moving statistics that inference uses
would still be close to their initial 0 and 1 after so few steps with 0.99.
"""

import sys

import keras
import numpy as np
from keras import layers

num_classes = 10
input_shape = (28, 28, 1)
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 1000

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train = x_train[:n_train], y_train[:n_train]
x_test, y_test = x_test[:200], y_test[:200]
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
print("x_train shape:", x_train.shape)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential([
    keras.Input(shape=input_shape),
    layers.Conv2D(8, kernel_size=(3, 3), use_bias=False),
    layers.BatchNormalization(momentum=0.9),
    layers.Activation("relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Conv2D(16, kernel_size=(3, 3), use_bias=False),
    layers.BatchNormalization(momentum=0.9),
    layers.Activation("relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Flatten(),
    layers.Dropout(0.5),
    layers.Dense(num_classes, activation="softmax"),
])
model.summary()

batch_size = 32
epochs = 2
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
first_score = model.evaluate(x_test, y_test, verbose=0)
model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
          verbose=2)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0], "(before training:", first_score[0], ")")
print("Test accuracy:", score[1])
moving_mean = model.layers[1].moving_mean.numpy()

"""Which optimizer? A Keras 2 MNIST MLP trained with each classic adaptive optimizer, written as
the 2017 examples were (run it through minikeras.as_keras).

    python -m minikeras.as_keras tests/legacy_scripts/mnist_optimizers_keras2.py [n_train]

Each optimizer is built with no arguments, so each gets Keras 2's default learning rate
(Adadelta 1.0, Adagrad 0.01, Adamax and Nadam 0.002), and the Keras 1 string form
``optimizer='adadelta'`` gets the same; the update formulas are Keras 3's.
"""
# ruff: noqa: E402, UP010, UP031  (kept as the Keras 2 examples were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)  # for reproducibility

import keras
from keras.datasets import mnist
from keras.layers import Dense, Dropout
from keras.models import Sequential
from keras.optimizers import SGD, Adadelta, Adagrad, Adamax, Nadam

batch_size = 128
num_classes = 10
epochs = 3
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else None

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, y_train = x_train[:n_train], y_train[:n_train]
x_test, y_test = x_test[:2000], y_test[:2000]
x_train = x_train.reshape(x_train.shape[0], 784).astype('float32') / 255
x_test = x_test.reshape(x_test.shape[0], 784).astype('float32') / 255
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
print(x_train.shape[0], 'train samples')


def build_model():
    model = Sequential()
    model.add(Dense(64, activation='relu', input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(num_classes, activation='softmax'))
    return model


candidates = [('adadelta', Adadelta()), ('adagrad', Adagrad()), ('adamax', Adamax()),
              ('nadam', Nadam()), ('sgd', SGD(lr=0.01, momentum=0.9, nesterov=True)),
              ("'adadelta' (string)", 'adadelta')]
results = {}
learning_rates = {}
for name, optimizer in candidates:
    model = build_model()
    model.compile(loss='categorical_crossentropy', optimizer=optimizer, metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                        validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    learning_rates[name] = float(model.optimizer.lr)
    results[name] = score[1]
    print('%-22s lr %-6g first loss %.4f  test accuracy %.4f'
          % (name, learning_rates[name], history.history['loss'][0], score[1]))

best = max(results, key=results.get)
print('Best optimizer:', best)

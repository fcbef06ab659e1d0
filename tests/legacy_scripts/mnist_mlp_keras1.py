"""A Keras 1 MNIST MLP, written as the 2016 tutorials were (run it through minikeras.as_keras).

    python -m minikeras.as_keras tests/legacy_scripts/mnist_mlp_keras1.py [n_train]
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)  # for reproducibility

from keras.datasets import mnist
from keras.layers.core import Activation, Dense, Dropout
from keras.models import Sequential
from keras.optimizers import RMSprop
from keras.utils import np_utils

batch_size = 128
nb_classes = 10
nb_epoch = 3
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else None

(X_train, y_train), (X_test, y_test) = mnist.load_data()
X_train, y_train = X_train[:n_train], y_train[:n_train]
X_train = X_train.reshape(X_train.shape[0], 784).astype('float32') / 255
X_test = X_test.reshape(X_test.shape[0], 784).astype('float32') / 255
print(X_train.shape[0], 'train samples')
print(X_test.shape[0], 'test samples')

# convert class vectors to binary class matrices
Y_train = np_utils.to_categorical(y_train, nb_classes)
Y_test = np_utils.to_categorical(y_test, nb_classes)

model = Sequential()
model.add(Dense(output_dim=128, input_dim=784, init='glorot_uniform'))
model.add(Activation('relu'))
model.add(Dropout(p=0.2))
model.add(Dense(nb_classes))
model.add(Activation('softmax'))
model.summary()

rms = RMSprop(lr=0.001, rho=0.9, epsilon=1e-08, decay=0.0)
model.compile(loss='categorical_crossentropy', optimizer=rms, metrics=['accuracy'])

history = model.fit(X_train, Y_train, batch_size=batch_size, nb_epoch=nb_epoch,
                    verbose=2, validation_data=(X_test, Y_test))
score = model.evaluate(X_test, Y_test, verbose=0)
print('Test score:', score[0])
print('Test accuracy:', score[1])
predicted = model.predict_classes(X_test, verbose=0)
print('First predictions:', predicted[:10], 'labels:', y_test[:10])

"""Keras 1 functional API and SimpleRNN: Model(input=, output=), input_dim/input_length.

    python -m minikeras.as_keras tests/legacy_scripts/rnn_autoencoder_keras1.py [n_train]
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)

from keras.datasets import mnist
from keras.layers import Dense, Input
from keras.layers.core import Activation
from keras.layers.recurrent import SimpleRNN
from keras.models import Model, Sequential
from keras.optimizers import Adam
from keras.utils import np_utils

n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
(X_train, y_train), (X_test, y_test) = mnist.load_data()
X_train = X_train[:n_train].astype('float32') / 255.
X_test = X_test[:300].astype('float32') / 255.
Y_train = np_utils.to_categorical(y_train[:n_train], nb_classes=10)
Y_test = np_utils.to_categorical(y_test[:300], nb_classes=10)

# --- a row-by-row SimpleRNN classifier, Keras 1 style
rnn = Sequential()
rnn.add(SimpleRNN(output_dim=32, input_dim=28, input_length=28, init='glorot_uniform',
                  inner_init='orthogonal', activation='tanh'))
rnn.add(Dense(10))
rnn.add(Activation('softmax'))
rnn.compile(optimizer=Adam(lr=0.003), loss='categorical_crossentropy', metrics=['accuracy'])
rnn_before = rnn.evaluate(X_test, Y_test, verbose=0)
rnn.fit(X_train, Y_train, nb_epoch=2, batch_size=50, verbose=0)
rnn_after = rnn.evaluate(X_test, Y_test, verbose=0)
print('rnn before/after [loss, acc]:', rnn_before, rnn_after)

# --- a small autoencoder with an encoder sharing its layers, Keras 1 functional style
x_flat = X_train.reshape((len(X_train), 784)) - 0.5
input_img = Input(shape=(784,))
encoded = Dense(64, activation='relu')(input_img)
encoder_output = Dense(2)(encoded)
decoded = Dense(64, activation='relu')(encoder_output)
decoded = Dense(784, activation='tanh')(decoded)
autoencoder = Model(input=input_img, output=decoded)
encoder = Model(input=input_img, output=encoder_output)
autoencoder.compile(optimizer='adam', loss='mse')
history = autoencoder.fit(x_flat, x_flat, nb_epoch=3, batch_size=128, shuffle=True, verbose=0)
encoded_imgs = encoder.predict(x_flat[:100])
print('autoencoder losses:', history.history['loss'], 'codes:', encoded_imgs.shape)

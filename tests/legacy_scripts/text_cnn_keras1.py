"""Keras 1's imdb_cnn example (Convolution1D + GlobalMaxPooling1D), written as the 2016
examples were, on synthetic sequences instead of the IMDB download.

    python -m minikeras.as_keras tests/legacy_scripts/text_cnn_keras1.py [n_train]

A sequence is labelled 1 when it contains one of a few two-word phrases, 0 when it contains
the same words in the other order; the other words are random filler.
"""
# ruff: noqa: E402, I001, UP010  (kept as the Keras 1 examples were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)  # for reproducibility

from keras.layers import Activation, Dense, Dropout, Embedding
from keras.layers import Convolution1D, GlobalMaxPooling1D
from keras.models import Sequential

# set parameters:
max_features = 50
maxlen = 20
batch_size = 32
embedding_dims = 16
nb_filter = 32
filter_length = 3
hidden_dims = 32
nb_epoch = 4
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 1200

print('Building data...')
phrases = [(3, 7), (11, 4), (20, 21)]


def make(n):
    X = np.random.randint(25, max_features, size=(n, maxlen))
    y = np.random.randint(0, 2, size=n)
    for i in range(n):
        a, b = phrases[np.random.randint(len(phrases))]
        if not y[i]:
            a, b = b, a
        at = np.random.randint(0, maxlen - 1)
        X[i, at], X[i, at + 1] = a, b
    return X, y


X_train, y_train = make(n_train)
X_test, y_test = make(300)
print(len(X_train), 'train sequences')
print('X_train shape:', X_train.shape)

print('Build model...')
model = Sequential()

# we start off with an efficient embedding layer which maps
# our vocab indices into embedding_dims dimensions
model.add(Embedding(max_features, embedding_dims, input_length=maxlen))
model.add(Dropout(0.2))

# we add a Convolution1D, which will learn nb_filter
# word group filters of size filter_length:
model.add(Convolution1D(nb_filter=nb_filter,
                        filter_length=filter_length,
                        border_mode='valid',
                        activation='relu',
                        subsample_length=1))
# we use max pooling:
model.add(GlobalMaxPooling1D())

# We add a vanilla hidden layer:
model.add(Dense(hidden_dims))
model.add(Dropout(0.2))
model.add(Activation('relu'))

# We project onto a single unit output layer, and squash it with a sigmoid:
model.add(Dense(1))
model.add(Activation('sigmoid'))

model.compile(loss='binary_crossentropy',
              optimizer='adam',
              metrics=['accuracy'])
model.fit(X_train, y_train,
          batch_size=batch_size,
          nb_epoch=nb_epoch,
          validation_data=(X_test, y_test))
score = model.evaluate(X_test, y_test, verbose=0)
print('Test score:', score[0])
print('Test accuracy:', score[1])

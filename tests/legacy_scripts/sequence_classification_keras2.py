"""Sequence classification with LSTM dropout and a Bidirectional LSTM, in the style of the
Keras 1/2 examples imdb_lstm.py and imdb_bidirectional_lstm.py, on synthetic data: each
sequence is a string of one-hot "words"; it is positive when word 1 occurs more often than
word 2 (the net has to count along the sequence).

    python -m minikeras.as_keras tests/legacy_scripts/sequence_classification_keras2.py [epochs]
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1/2 examples were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)

from keras.layers import LSTM, Activation, Dense, Dropout
from keras.layers.wrappers import Bidirectional
from keras.models import Sequential

max_features = 6     # words in the vocabulary
maxlen = 24          # words per sequence
batch_size = 32
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 8

print('Building data...')


def make_data(n):
    words = np.random.randint(0, max_features, size=(n, maxlen))
    x = np.eye(max_features, dtype='float32')[words]
    y = ((words == 1).sum(axis=1) > (words == 2).sum(axis=1)).astype('float32')
    return x, y


X_train, y_train = make_data(1200)
X_test, y_test = make_data(400)
print(len(X_train), 'train sequences')
print(len(X_test), 'test sequences')
print('X_train shape:', X_train.shape)

print('Build model...')
model = Sequential()
model.add(LSTM(32, dropout_W=0.2, dropout_U=0.2, input_shape=(maxlen, max_features)))
model.add(Dense(1))
model.add(Activation('sigmoid'))

model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

print('Train...')
model.fit(X_train, y_train, batch_size=batch_size, nb_epoch=epochs,
          validation_data=(X_test, y_test), verbose=2)
score, acc = model.evaluate(X_test, y_test, batch_size=batch_size)
print('Test score:', score)
print('Test accuracy:', acc)

print('Build bidirectional model...')
bi_model = Sequential()
bi_model.add(Bidirectional(LSTM(16, dropout=0.2, recurrent_dropout=0.2),
                           input_shape=(maxlen, max_features)))
bi_model.add(Dropout(0.5))
bi_model.add(Dense(1, activation='sigmoid'))

bi_model.compile('adam', 'binary_crossentropy', metrics=['accuracy'])

print('Train...')
bi_model.fit(X_train, y_train, batch_size=batch_size, epochs=epochs,
             validation_data=[X_test, y_test], verbose=2)
bi_score, bi_acc = bi_model.evaluate(X_test, y_test, batch_size=batch_size)
print('Bidirectional test accuracy:', bi_acc)

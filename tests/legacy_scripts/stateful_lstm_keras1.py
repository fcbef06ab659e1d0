"""A Keras 1 stateful LSTM regressor (sin -> cos), trained with train_on_batch.

    python -m minikeras.as_keras tests/legacy_scripts/stateful_lstm_keras1.py [steps]
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)

from keras.layers import LSTM, Dense, TimeDistributed
from keras.models import Sequential
from keras.optimizers import Adam

BATCH_START = 0
TIME_STEPS = 20
BATCH_SIZE = 50
INPUT_SIZE = 1
OUTPUT_SIZE = 1
CELL_SIZE = 20
LR = 0.006
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 201


def get_batch():
    global BATCH_START, TIME_STEPS
    xs = np.arange(BATCH_START, BATCH_START + TIME_STEPS * BATCH_SIZE)
    xs = xs.reshape((BATCH_SIZE, TIME_STEPS)) / (10 * np.pi)
    seq = np.sin(xs)
    res = np.cos(xs)
    BATCH_START += TIME_STEPS
    return [seq[:, :, np.newaxis], res[:, :, np.newaxis], xs]


model = Sequential()
model.add(LSTM(batch_input_shape=(BATCH_SIZE, TIME_STEPS, INPUT_SIZE), output_dim=CELL_SIZE,
               return_sequences=True, stateful=True, inner_activation='sigmoid'))
model.add(TimeDistributed(Dense(OUTPUT_SIZE)))
adam = Adam(LR)
model.compile(optimizer=adam, loss='mse')

costs = []
for step in range(STEPS):
    X_batch, Y_batch, xs = get_batch()
    cost = model.train_on_batch(X_batch, Y_batch)
    costs.append(cost)
    if step % 50 == 0:
        print('train cost: ', cost)

model.reset_states()
X_batch, Y_batch, xs = get_batch()
pred = model.predict(X_batch, BATCH_SIZE)
print('prediction shape', pred.shape)

"""A Keras 1 linear regression: Dense(output_dim=1, input_dim=1), SGD with decay.

    python -m minikeras.as_keras tests/legacy_scripts/regression_keras1.py
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import numpy as np

np.random.seed(1337)

from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import SGD

X = np.linspace(-1, 1, 200)
np.random.shuffle(X)
Y = 0.5 * X + 2 + np.random.normal(0, 0.05, (200, ))
X_train, Y_train = X[:160], Y[:160]
X_test, Y_test = X[160:], Y[160:]

model = Sequential()
model.add(Dense(output_dim=1, input_dim=1))
sgd = SGD(lr=0.1, decay=1e-3)
model.compile(loss='mse', optimizer=sgd)

print('Training -----------')
for step in range(301):
    cost = model.train_on_batch(X_train, Y_train)
    if step % 100 == 0:
        print('train cost: ', cost)

print('\nTesting ------------')
cost = model.evaluate(X_test, Y_test, batch_size=40)
print('test cost:', cost)
W, b = model.layers[0].get_weights()
print('Weights=', W, '\nbiases=', b)
final_lr = sgd.lr

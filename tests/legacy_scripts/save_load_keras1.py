"""A Keras 1/2 saving tutorial: train on 1-D data, save to HDF5, delete, load, predict.

    python -m minikeras.as_keras tests/legacy_scripts/save_load_keras1.py
"""
# ruff: noqa: E402, UP010, B007  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import numpy as np

np.random.seed(1337)  # for reproducibility

from keras.layers import Dense
from keras.models import Sequential, load_model

# create some data
X = np.linspace(-1, 1, 200)
np.random.shuffle(X)    # randomize the data
Y = 0.5 * X + 2 + np.random.normal(0, 0.05, (200, ))
X_train, Y_train = X[:160], Y[:160]     # first 160 data points
X_test, Y_test = X[160:], Y[160:]       # last 40 data points

model = Sequential()
model.add(Dense(output_dim=1, input_dim=1))
model.compile(loss='mse', optimizer='sgd')
for step in range(301):
    cost = model.train_on_batch(X_train, Y_train)

# save
print('test before save: ', model.predict(X_test[0:2]))
model.save('my_model.h5')   # HDF5 file, you have to pip3 install h5py if don't have it
del model  # deletes the existing model

# load
model = load_model('my_model.h5')
print('test after load: ', model.predict(X_test[0:2]))

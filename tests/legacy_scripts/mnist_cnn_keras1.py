"""A Keras 1 MNIST convnet in Theano ordering ('th': images are (1, 28, 28)).

    python -m minikeras.as_keras tests/legacy_scripts/mnist_cnn_keras1.py [n_train]
"""
# ruff: noqa: E402, UP010  (kept as the Keras 1 tutorials were written)
from __future__ import print_function

import sys

import numpy as np

np.random.seed(1337)

from keras import backend as K
from keras.datasets import mnist
from keras.layers import Activation, Dense, Dropout, Flatten
from keras.layers.convolutional import Convolution2D, MaxPooling2D
from keras.models import Sequential
from keras.optimizers import SGD
from keras.utils import np_utils

K.set_image_dim_ordering('th')

batch_size = 32
nb_classes = 10
nb_epoch = 1
img_rows, img_cols = 28, 28
nb_filters = 8
nb_pool = 2
nb_conv = 3
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

(X_train, y_train), (X_test, y_test) = mnist.load_data()
X_train, y_train = X_train[:n_train], y_train[:n_train]
X_test, y_test = X_test[:500], y_test[:500]

if K.image_dim_ordering() == 'th':
    X_train = X_train.reshape(X_train.shape[0], 1, img_rows, img_cols)
    X_test = X_test.reshape(X_test.shape[0], 1, img_rows, img_cols)
    input_shape = (1, img_rows, img_cols)
else:
    X_train = X_train.reshape(X_train.shape[0], img_rows, img_cols, 1)
    X_test = X_test.reshape(X_test.shape[0], img_rows, img_cols, 1)
    input_shape = (img_rows, img_cols, 1)
X_train = X_train.astype('float32') / 255
X_test = X_test.astype('float32') / 255
Y_train = np_utils.to_categorical(y_train, nb_classes)
Y_test = np_utils.to_categorical(y_test, nb_classes)

model = Sequential()
model.add(Convolution2D(nb_filters, nb_conv, nb_conv, border_mode='valid',
                        input_shape=input_shape))
model.add(Activation('relu'))
model.add(Convolution2D(nb_filters, nb_conv, nb_conv, subsample=(1, 1), border_mode='same'))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(nb_pool, nb_pool), border_mode='valid'))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(64))
model.add(Activation('relu'))
model.add(Dense(nb_classes))
model.add(Activation('softmax'))

conv_output_shape = model.layers[0].output_shape
pool_output_shape = model.layers[4].output_shape
print('conv output', conv_output_shape, 'pool output', pool_output_shape)

model.compile(loss='categorical_crossentropy',
              optimizer=SGD(lr=0.05, momentum=0.9, decay=1e-4, nesterov=True),
              metrics=['accuracy'])
first_loss = model.evaluate(X_test, Y_test, verbose=0)[0]
model.fit(X_train, Y_train, batch_size=batch_size, nb_epoch=nb_epoch, verbose=1,
          validation_data=(X_test, Y_test))
score = model.evaluate(X_test, Y_test, verbose=0)
print('Test score:', score[0], '(before training:', first_loss, ')')
print('Test accuracy:', score[1])

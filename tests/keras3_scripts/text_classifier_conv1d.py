"""A text classifier in the style of Keras' imdb_cnn example: Embedding + Conv1D +
GlobalMaxPooling1D, on synthetic "reviews" (no download).

    python -m minikeras.as_keras tests/keras3_scripts/text_classifier_conv1d.py [n_train]

A review is a sequence of word ids; a positive review contains one of a few "good" phrases
(two words in a row), a negative one a "bad" phrase, amid random filler words. The model has
to find a two-word pattern anywhere in the sequence: what a 1-D convolution followed by a max
over time does.
"""

import sys

import keras
import numpy as np
from keras import layers

max_features = 50
maxlen = 40
embedding_dims = 16
filters = 32
kernel_size = 3
hidden_dims = 32
batch_size = 32
epochs = 4
n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 1200

rng = np.random.default_rng(1337)
GOOD = [(3, 7), (11, 4), (20, 21)]
BAD = [(7, 3), (4, 11), (21, 20)]   # the same words, the other order: order matters


def make_reviews(n):
    x = rng.integers(25, max_features, (n, maxlen))        # filler words never form phrases
    y = rng.integers(0, 2, n)
    for i in range(n):
        phrases = GOOD if y[i] else BAD
        a, b = phrases[rng.integers(len(phrases))]
        at = rng.integers(0, maxlen - 1)
        x[i, at], x[i, at + 1] = a, b
    return x, y


x_train, y_train = make_reviews(n_train)
x_test, y_test = make_reviews(400)
print(len(x_train), "train sequences,", len(x_test), "test sequences")

model = keras.Sequential([
    keras.Input(shape=(maxlen,)),
    layers.Embedding(max_features, embedding_dims),
    layers.Dropout(0.1),
    layers.Conv1D(filters, kernel_size, padding="valid", activation="relu", strides=1),
    layers.GlobalMaxPooling1D(),
    layers.Dense(hidden_dims),
    layers.LayerNormalization(),
    layers.Activation("relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.summary()
model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.01),
              metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                    validation_data=(x_test, y_test), verbose=2)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

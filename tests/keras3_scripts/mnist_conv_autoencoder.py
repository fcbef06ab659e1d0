"""A convolutional autoencoder for MNIST, in the style of Keras' "Convolutional autoencoder
for image denoising" example: Conv2D + MaxPooling2D down, Conv2DTranspose up.

    python -m minikeras.as_keras tests/keras3_scripts/mnist_conv_autoencoder.py [n_train]

The images are padded from 28x28 to 32x32 so that they halve cleanly
(32 -> 16 -> 8 and back), and the reconstruction is cropped back to 28x28 with Cropping2D.
"""

import sys

import keras
import numpy as np
from keras import layers

n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 1000

(train_data, _), (test_data, _) = keras.datasets.mnist.load_data()
train_data = np.expand_dims(train_data[:n_train].astype("float32") / 255.0, -1)
test_data = np.expand_dims(test_data[:100].astype("float32") / 255.0, -1)

input = layers.Input(shape=(28, 28, 1))

# Encoder
x = layers.ZeroPadding2D(2)(input)
x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(4, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(4, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
x = layers.Cropping2D(2)(x)

# Autoencoder
autoencoder = keras.Model(input, x)
autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                    loss="binary_crossentropy")
autoencoder.summary()

first_loss = autoencoder.evaluate(test_data, test_data, verbose=0)
history = autoencoder.fit(x=train_data, y=train_data, epochs=3, batch_size=32, shuffle=True,
                          validation_data=(test_data, test_data), verbose=2)
predictions = autoencoder.predict(test_data, verbose=0)
test_loss = autoencoder.evaluate(test_data, test_data, verbose=0)
print("Reconstruction loss:", test_loss, "(before training:", first_loss, ")")

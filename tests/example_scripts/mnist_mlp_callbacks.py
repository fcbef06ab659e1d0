"""An MNIST MLP trained with the tools of a Keras 3 tutorial: class weights, precision and
recall, the best model kept by ModelCheckpoint, the learning rate lowered on a plateau, and
the epochs logged to CSV. Run it through minikeras (or under real Keras, unchanged):

    python -m minikeras.as_keras tests/example_scripts/mnist_mlp_callbacks.py [n_train] [dir]
"""

import os
import sys
import tempfile

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(1337)  # the same weights and dropout masks on every run

n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
out_dir = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
num_classes = 10

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:n_train].reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = y_train[:n_train]
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
y_train_cat = keras.utils.to_categorical(y_train, num_classes)
y_test_cat = keras.utils.to_categorical(y_test, num_classes)

# Rarer digits weigh more: weight = n / (classes * count), 1.0 on average.
counts = np.bincount(y_train, minlength=num_classes)
class_weight = {i: float(len(y_train) / (num_classes * c)) for i, c in enumerate(counts)}

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.2),
    layers.Dense(num_classes, activation="softmax"),
])
model.summary()
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.002),
              loss="categorical_crossentropy",
              metrics=["accuracy", keras.metrics.Precision(name="precision"),
                       keras.metrics.Recall(name="recall")])

best_path = os.path.join(out_dir, "best.keras")
csv_path = os.path.join(out_dir, "training.csv")
callbacks = [
    keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True,
                                    verbose=1),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0,
                                      min_delta=0.05, min_lr=1e-4, verbose=1),
    keras.callbacks.CSVLogger(csv_path),
]
history = model.fit(x_train, y_train_cat, batch_size=128, epochs=3, verbose=2,
                    validation_split=0.1, class_weight=class_weight, callbacks=callbacks)

best = keras.models.load_model(best_path)
score = best.evaluate(x_test, y_test_cat, verbose=0, return_dict=True)
print("Best model on the test set:", {k: round(v, 4) for k, v in score.items()})
print("Learning rates:", history.history["learning_rate"])
with open(csv_path) as f:
    csv_lines = f.read().splitlines()
print("\n".join(csv_lines))

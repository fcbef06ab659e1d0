"""SwapEMAWeights: evaluate, predict and fit's validation run on the optimizer's averages, and
the weights come back exactly (the swap copies)."""

from __future__ import annotations

import numpy as np
import pytest

import minikeras as mk

X = np.linspace(0, 1, 30, dtype=np.float32).reshape(10, 3)
Y = np.ones((10, 2), np.float32)


def trained(use_ema: bool = True) -> mk.Sequential:
    mk.utils.set_random_seed(0)
    model = mk.Sequential([mk.Input((3,)), mk.layers.Dense(2)])
    ema = {"use_ema": True, "ema_momentum": 0.5} if use_ema else {}
    model.compile(mk.optimizers.SGD(0.1, **ema), "mse")
    for _ in range(5):
        model.train_on_batch(X, Y)
    return model


def weights_and_averages(model: mk.Sequential) -> tuple[list, list]:
    return ([w.copy() for w in model.get_weights()],
            [a.copy() for a in model.optimizer._model_variables_moving_average])


def test_evaluate_and_predict_use_the_averages_and_give_the_weights_back():
    model = trained()
    weights, averages = weights_and_averages(model)
    assert not all(np.array_equal(w, a) for w, a in zip(weights, averages, strict=True))
    loss = model.evaluate(X, Y, verbose=0, callbacks=[mk.callbacks.SwapEMAWeights()])
    pred = model.predict(X, verbose=0, callbacks=mk.callbacks.SwapEMAWeights())
    after = weights_and_averages(model)
    for before, now in zip(weights + averages, after[0] + after[1], strict=True):
        np.testing.assert_array_equal(now, before)   # bit for bit, weights and averages
    model.set_weights(averages)                      # the averaged model, by hand
    assert model.evaluate(X, Y, verbose=0) == loss
    np.testing.assert_array_equal(model.predict(X, verbose=0), pred)


def test_fit_validates_on_the_averages():
    model = trained()
    history = model.fit(X, Y, epochs=1, batch_size=10, validation_data=(X, Y), verbose=0,
                        callbacks=[mk.callbacks.SwapEMAWeights()])
    # fit ends with finalize_variable_values: the model now holds the averages the
    # validation of the last epoch ran on
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(history.history["val_loss"][0],
                                                            rel=1e-6)


def test_swap_on_epoch_shows_the_averages_to_the_callbacks_after_it():
    model = trained()
    averages_before, weights_after = [], []
    before = mk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: averages_before.append(
        [a.copy() for a in model.optimizer._model_variables_moving_average]))
    after = mk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights_after.append(
        [w.copy() for w in model.get_weights()]))
    model.fit(X, Y, epochs=2, batch_size=5, verbose=0,
              callbacks=[before, mk.callbacks.SwapEMAWeights(swap_on_epoch=True), after])
    for averages, shown in zip(averages_before, weights_after, strict=True):
        for a, w in zip(averages, shown, strict=True):
            np.testing.assert_array_equal(w, a)   # the callback after it sees the averages
    for final, shown in zip(model.get_weights(), weights_after[-1], strict=True):
        np.testing.assert_array_equal(final, shown)   # and fit ends on the last ones


def test_without_use_ema_it_is_refused_as_in_keras():
    model = trained(use_ema=False)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.evaluate(X, Y, verbose=0, callbacks=[mk.callbacks.SwapEMAWeights()])

"""Planted mistakes in the batch_norm exercise are caught with the intended diagnosis (the list
of typical mistakes heads test_exercise_mistakes.py; for BatchNormalization: the batch's
statistics treated as constants, a missing term through the mean or the variance, gamma or
x_hat left out, a mean where the gradient of beta is a sum)."""

from __future__ import annotations

from exercise_helpers import assert_caught, grade, mistake

from minikeras import layers


class BatchNormSolution(layers.BatchNormalization):
    mistake = ""

    def backward(self, grad_output):
        cache = self.cache
        dy = grad_output
        axes = self.reduction_axes(dy.ndim)
        dbeta = dy.sum(axis=axes)
        self.beta.add_grad(dbeta / (dy.size // dbeta.size) if self.mistake == "mean_beta"
                           else dbeta)
        self.gamma.add_grad(dy.sum(axis=axes) if self.mistake == "no_x_hat"
                            else (dy * cache.x_hat).sum(axis=axes))
        dx_hat = dy if self.mistake == "no_gamma" else dy * self.per_feature(
            self.gamma.value, dy.ndim)
        if not cache.batch_statistics or self.mistake == "constants":
            return dx_hat * cache.inv_std
        mean = dx_hat.mean(axis=axes, keepdims=True)
        proj = (dx_hat * cache.x_hat).mean(axis=axes, keepdims=True)
        if self.mistake == "no_var_term":
            proj = 0.0
        if self.mistake == "no_mean_term":
            mean = 0.0
        return cache.inv_std * (dx_hat - mean - cache.x_hat * proj)


def test_batch_norm_backward_and_its_mistakes():
    assert grade("batch_norm", BatchNormSolution).passed
    assert_caught("batch_norm", mistake(BatchNormSolution, "constants"),
                  "treats the batch's mean and variance as constants")
    assert_caught("batch_norm", mistake(BatchNormSolution, "no_var_term"),
                  "the term through the variance is missing")
    assert_caught("batch_norm", mistake(BatchNormSolution, "no_mean_term"),
                  "the term through the mean is missing")
    assert_caught("batch_norm", mistake(BatchNormSolution, "no_gamma"),
                  "the factor gamma is missing")
    assert_caught("batch_norm", mistake(BatchNormSolution, "no_x_hat"), "x_hat factor")
    assert_caught("batch_norm", mistake(BatchNormSolution, "mean_beta"), "is their sum")

"""``minikeras.utils.trace`` on the six tutorial models, nested models, and leaving no trace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_gradient_check_api import SIX, build_six

import minikeras
from minikeras import layers
from minikeras.utils import set_random_seed, trace

PATCHED = ("forward", "backward", "backward_from_logits", "_forward", "_loss_and_grads",
           "_train_step")


def _all_objects(model: Any) -> list[Any]:
    out = [model]
    for layer in model.layers:
        out += _all_objects(layer) if hasattr(layer, "_forward") else [layer]
    return out


def _untouched(model: Any) -> bool:
    return not any(attr in obj.__dict__ for obj in _all_objects(model) for attr in PATCHED)


@pytest.mark.parametrize("name", list(SIX))
def test_six_models_traced_through_fit(name: str, tmp_path: Any) -> None:
    model, x, y = build_six(name)
    batch = len(x) // 2 if name != "stateful_lstm" else len(x)
    printed: list[str] = []
    with trace(model, print_every=2, print_fn=printed.append) as t:
        model.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
    assert _untouched(model)
    steps = 2 * -(-len(x) // batch)
    assert [s.step for s in t.steps] == list(range(1, steps + 1))
    assert len(printed) == steps // 2 and printed[-1].startswith(f"Step {steps} - loss: ")
    last = t.steps[-1]
    traced = [la for la in model.layers if not isinstance(la, layers.InputLayer)]
    assert [c.name for c in last.calls] == [la.name for la in traced]
    for call, layer in zip(last.calls, traced, strict=True):
        assert call.output_shape == (batch, *layer.output_shape[1:])
        assert call.grad_output is not None and call.grad_output > 0
        assert np.isfinite([call.mean, call.std]).all() and 0 <= call.zeros <= 1
        if layer.trainable_weights:
            grad, update, size = call.weight_norms()
            assert grad > 0 and update > 0 and size > 0
            assert set(call.weights) == {w.name for w in layer.trainable_weights}
        else:
            assert call.weight_norms() is None
    assert last.calls[0].grad_input is None        # the data needs no gradient
    assert all(c.name in t.table() for c in last.calls)
    path = tmp_path / "trace.png" if name == "regression" else None   # drawing takes ~1 s
    fig = t.plot(path)
    assert len(fig.axes) == 2 * len(last.calls)
    assert path is None or path.exists()


def test_tracing_changes_no_number() -> None:
    runs = []
    for traced in (False, True):
        model, x, y = build_six("mnist_mlp", seed=3)
        if traced:
            with trace(model, print_fn=lambda s: None):
                model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
        else:
            model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))


def test_train_on_batch_predict_and_an_exception() -> None:
    model, x, y = build_six("simple_rnn")
    with pytest.raises(RuntimeError), trace(model) as t:
        model.train_on_batch(x, y)
        model.predict(x, verbose=0)
        raise RuntimeError("stop")
    assert _untouched(model)
    assert [p.training for p in t.passes] == [True, False]
    assert t.passes[1].step is None and t.passes[1].calls[0].grad_output is None
    assert t.table().startswith("Step 1 - loss: ")
    assert "dL/d(logits)" in t.table()          # softmax + cross-entropy: the shortcut


def test_nested_functional_model_and_time_distributed() -> None:
    set_random_seed(4)
    inner = minikeras.Sequential([minikeras.Input((5, 3)), layers.SimpleRNN(4,
                                  return_sequences=True)], name="inner")
    inp = minikeras.Input((5, 3))
    h = inner(inp)
    out = layers.TimeDistributed(layers.Dense(2, activation="relu"))(layers.Add()([h, h]))
    model = minikeras.Model(inp, out)
    model.compile("sgd", "mse")
    x = np.random.default_rng(4).standard_normal((6, 5, 3)).astype("float32")
    with trace(model) as t:
        model.fit(x, np.ones((6, 5, 2), "float32"), batch_size=6, verbose=0)
    assert _untouched(model)
    names = [c.name for c in t.steps[0].calls]
    assert names[0] == inner.layers[0].name and names[1].startswith("add")
    assert names[2].startswith("time_distributed")
    td = t.steps[0].calls[2]
    assert td.input_shape == (6, 5, 4) and td.output_shape == (6, 5, 2)
    assert set(td.weights) == {w.name for w in model.layers[-1].trainable_weights}

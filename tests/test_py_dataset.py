"""fit / evaluate / predict on Python batches: a generator or a ``PyDataset``.

The same batches given as arrays (``shuffle=False``, the arrays' batch size) must train to
the same weights bit for bit: both paths run the same step on the same arrays. The other
tests pin Keras 3.15.1's semantics, measured: ``steps_per_epoch`` limits, a generator read
until it ends, ``on_epoch_end`` after each pass, what a batch may hold, and the errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import minikeras as mk
from minikeras import callbacks, layers
from minikeras.utils import PyDataset, set_random_seed

B, D = 4, 3


def _batches(k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((B, D)).astype("float32"),
             rng.standard_normal((B, 1)).astype("float32")) for _ in range(k)]


def _gen(batches: list) -> Iterator[Any]:
    yield from batches


class Batches(PyDataset):
    """A PyDataset over a list of batches that logs what it is asked."""

    def __init__(self, batches: list, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batches, self.log = batches, []

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Any:
        self.log.append(index)
        return self.batches[index]

    def on_epoch_end(self) -> None:
        self.log.append("end")


def _model(optimizer: str = "adam") -> mk.Sequential:
    set_random_seed(3)
    m = mk.Sequential([mk.Input((D,)), layers.Dense(5, activation="tanh"), layers.Dense(1)])
    m.compile(optimizer, "mse", metrics=["mae"])
    return m


def _arrays(batches: list) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _assert_same_weights(a: mk.Model, b: mk.Model) -> None:
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_pydataset_trains_as_the_same_batches_given_as_arrays() -> None:
    batches = _batches(6)
    ref, m = _model(), _model()
    h_ref = ref.fit(*_arrays(batches), batch_size=B, epochs=2, shuffle=False, verbose=0)
    h = m.fit(Batches(batches), epochs=2, shuffle=False, verbose=0)
    assert h.history == h_ref.history
    _assert_same_weights(ref, m)


def test_generator_trains_as_the_same_batches_given_as_arrays() -> None:
    batches = _batches(6)
    m = _model()   # one generator, 2 epochs of 3 batches: batches 0-2, then 3-5
    h = m.fit(_gen(batches), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0)
    ref = _model()
    h1 = ref.fit(*_arrays(batches[:3]), batch_size=B, shuffle=False, verbose=0)
    h2 = ref.fit(*_arrays(batches[3:]), batch_size=B, shuffle=False, verbose=0)
    assert h.history["loss"] == h1.history["loss"] + h2.history["loss"]
    _assert_same_weights(ref, m)


def test_generator_without_steps_is_read_once_until_it_ends() -> None:
    m = _model("sgd")
    seen: list[int] = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = m.fit(_gen(_batches(3)), epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2] and len(h.history["loss"]) == 1
    assert not caught, [str(w.message) for w in caught]


def test_exhausted_generator_warns_and_stops_training() -> None:
    m = _model("sgd")
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit(_gen(_batches(3)), epochs=3, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 1   # epoch 2 had no batch: no log for it
    m = _model("sgd")
    with pytest.warns(UserWarning, match="ran out of data"):   # 5 due, 3 came
        h = m.fit(_gen(_batches(3)), steps_per_epoch=5, epochs=2, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 1


def test_steps_per_epoch_limits_a_pydataset_and_on_epoch_end_follows_each_pass() -> None:
    data = Batches(_batches(3))
    _model().fit(data, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
    assert data.log == [0, 1, "end", 0, 1, "end"]
    data = Batches(_batches(3))
    _model().fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.log == [0, 1, 2, "end", 0, 1, 2, "end"]


def test_pydataset_shuffle_permutes_the_batch_order_per_epoch() -> None:
    data = Batches(_batches(6))
    set_random_seed(0)
    m = _model()
    m.fit(data, epochs=2, verbose=0)   # shuffle=True by default, as Keras
    first, second = data.log[:6], data.log[7:13]
    assert sorted(first) == sorted(second) == list(range(6))
    assert first != list(range(6)) or second != list(range(6))


def test_pydataset_keras_arguments_and_super_warning() -> None:
    d = Batches(_batches(1), workers=4, use_multiprocessing=True, max_queue_size=3)
    assert (d.workers, d.use_multiprocessing, d.max_queue_size) == (4, True, 3)
    assert mk.utils.Sequence is PyDataset

    class NoSuper(PyDataset):
        def __init__(self) -> None:
            self.b = _batches(2)

        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> Any:
            return self.b[i]

    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        _model().fit(NoSuper(), verbose=0)


def test_validation_generator_and_steps() -> None:
    m = _model()
    seen: list[int] = []
    cb = callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: seen.append(b))
    h = m.fit(Batches(_batches(2)), validation_data=_gen(_batches(10, 1)), validation_steps=2,
              epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert seen == [0, 1, 0, 1]
    # the validation loss is evaluate's on the same batches
    val = _gen(_batches(10, 1))
    ref = _model()
    ref.fit(Batches(_batches(2)), epochs=1, shuffle=False, verbose=0)
    first = ref.evaluate(val, steps=2, verbose=0, return_dict=True)
    assert first["loss"] == h.history["val_loss"][0]


def test_evaluate_and_predict_match_arrays() -> None:
    batches = _batches(3)
    m = _model()
    x, y = _arrays(batches)
    ref = m.evaluate(x, y, batch_size=B, verbose=0)
    assert m.evaluate(_gen(batches), verbose=0) == ref
    assert m.evaluate(Batches(batches), verbose=0) == ref
    assert m.evaluate(_gen(batches), steps=1, verbose=0) == m.evaluate(
        *batches[0], verbose=0)
    p = m.predict(x, batch_size=B, verbose=0)
    np.testing.assert_array_equal(m.predict(_gen(batches), verbose=0), p)
    np.testing.assert_array_equal(m.predict(_gen([(b[0],) for b in batches]), verbose=0), p)
    np.testing.assert_array_equal(m.predict(Batches(batches), steps=2, verbose=0), p[:2 * B])
    sw = np.arange(B, dtype="float32")
    with_w = [(bx, by, sw) for bx, by in batches]
    np.testing.assert_allclose(m.evaluate(_gen(with_w), verbose=0),
                               m.evaluate(x, y, sample_weight=np.tile(sw, 3), batch_size=B,
                                          verbose=0), rtol=1e-6)


def test_class_weight_on_a_pydataset_and_multi_input_batches() -> None:
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((B, D)).astype("float32")
    yb = np.array([[0.0], [1.0], [1.0], [0.0]], "float32")
    m, ref = _model(), _model()
    m.fit(Batches([(xb, yb)]), class_weight={0: 1.0, 1: 3.0}, shuffle=False, verbose=0)
    ref.fit(xb, yb, class_weight={0: 1.0, 1: 3.0}, shuffle=False, verbose=0)
    _assert_same_weights(ref, m)
    a_in, b_in = mk.Input((3,), name="a"), mk.Input((2,), name="b")
    two = mk.Model([a_in, b_in], layers.Dense(1)(layers.Concatenate()([a_in, b_in])))
    two.compile("sgd", "mse")
    batch = ({"a": xb, "b": xb[:, :2]}, yb)
    h = two.fit(_gen([batch, batch]), shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 1


def test_progress_bar_of_an_unknown_length(capsys: pytest.CaptureFixture) -> None:
    m = _model()
    m.fit(_gen(_batches(3)), shuffle=False, verbose=2)
    assert capsys.readouterr().out.startswith("3/3 - ")
    m.fit(_gen(_batches(3)), shuffle=False, verbose=1)
    assert capsys.readouterr().out.lstrip("\r").startswith("3/3 ")
    m.evaluate(_gen(_batches(2)), verbose=2)
    assert capsys.readouterr().out.startswith("2/2 - ")


def _bad_batch_at(i: int) -> list:
    batches = _batches(3)
    batches[i] = (np.full((B, D), "a"), batches[i][1])
    return batches


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_errors_name_the_batch_and_a_bad_first_batch_changes_nothing(call: str) -> None:
    m = _model()
    m.fit(*_batches(1)[0], verbose=0)
    before = m.get_weights() + [np.array(v) for v in m.optimizer.variables]
    with pytest.raises(ValueError, match=r"batch 0 of the generator.*dtype"):
        getattr(m, call)(_gen(_bad_batch_at(0)), verbose=0,
                         **({"shuffle": False} if call == "fit" else {}))
    after = m.get_weights() + [np.array(v) for v in m.optimizer.variables]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"batch 2 of the PyDataset.*dtype"):
        getattr(m, call)(Batches(_bad_batch_at(2)), verbose=0)


def test_keras_refusals() -> None:
    m = _model()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        m.fit(_gen(_batches(1)), np.zeros((B, 1)), verbose=0)
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        m.evaluate(Batches(_batches(1)), sample_weight=np.ones(B), verbose=0)
    with pytest.raises(ValueError, match="`class_weight` is not supported for Python generator"):
        m.fit(_gen(_batches(1)), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported"):
        m.fit(_gen(_batches(1)), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match=r"expected a tuple \(x,\).*received a ndarray"):
        m.fit(_gen([_batches(1)[0][0]]), shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="no targets"):
        m.fit(_gen([(_batches(1)[0][0],)]), shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="yielded no batch"):
        m.fit(_gen([]), shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="length 0"):
        m.predict(Batches([]), verbose=0)
    with pytest.warns(UserWarning, match="`shuffle=True` was passed, but will be ignored"):
        m.fit(_gen(_batches(1)), verbose=0)


def test_class_weight_with_weighted_batches_is_refused_and_keras_names_resolve() -> None:
    xb, yb = _batches(1)[0]
    with pytest.raises(ValueError, match=r"batch 0 of the PyDataset.*`class_weight`"):
        _model().fit(Batches([(xb, yb, np.ones(B, "float32"))]), class_weight={0: 2.0},
                     verbose=0)
    from minikeras._keras_shim import utils as keras_utils  # keras.utils under as_keras
    assert keras_utils.PyDataset is PyDataset and keras_utils.Sequence is PyDataset

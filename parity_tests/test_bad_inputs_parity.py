"""The bad-input cases of ``tests/test_bad_inputs.py``, run on Keras and minikeras side by side.

Each case is the same call on the same small model in both frameworks. The test writes
``parity_tests/bad_inputs_report.md``: one row per case with what each framework did (error
type, warning, or accepted), both messages, and whether the failing call changed the model
(weights, optimizer variables, RNN states, compile settings), for a reader to compare.

It asserts what must hold across the table: minikeras answers every case (error or warning,
never silence), minikeras never changes a model in a call that fails, and where Keras refuses
a call minikeras refuses it too (a warning would be a silent acceptance in disguise).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests import test_bad_inputs as bad

pytestmark = pytest.mark.parity

REPORT = Path(__file__).resolve().parent / "bad_inputs_report.md"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# Keras models by kind, each with the state it had when built (weights, optimizer variables,
# RNN states). A case that changes a model gets it restored for the next one, rather than
# rebuilt: building and tracing a fresh Keras model per case costs about a second each.
_KERAS_MODELS: dict[str, tuple[Any, list[Any]]] = {}


def _keras_state(model: Any) -> list[Any]:
    variables = list(model.weights) + list(model.optimizer.variables)
    for layer in model.layers:
        variables += list(getattr(layer, "states", None) or [])
    return variables


def _keras_model(fw: Any, kind: str) -> Any:
    if kind not in _KERAS_MODELS:
        fw.utils.set_random_seed(0)
        model = bad.build(fw, kind)
        saved = [] if model is None else [v.numpy().copy() for v in _keras_state(model)]
        _KERAS_MODELS[kind] = (model, saved)
    model, saved = _KERAS_MODELS[kind]
    if model is not None:
        for v, value in zip(_keras_state(model), saved, strict=True):
            v.assign(value)
    return model


def _outcome(fw: Any, case: bad.Case) -> dict[str, Any]:
    """Run one case on ``fw`` (None: minikeras, a fresh model per case): what happened, the
    message, and whether the model's state moved."""
    if fw is None:
        fw = bad._mk()
        model = bad.build(fw, case.model)
    else:
        model = _keras_model(fw, case.model)
    before = bad.snapshot(fw, model)
    result = {"what": "accepted", "message": ""}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            case.run(fw, model)
        except Exception as e:  # noqa: BLE001 - every outcome is recorded, none is hidden
            result = {"what": type(e).__name__, "message": str(e)}
    if result["what"] == "accepted":
        ours = [w for w in caught if issubclass(w.category, UserWarning)
                and not issubclass(w.category, DeprecationWarning)]
        if ours:
            result = {"what": "warning", "message": str(ours[0].message)}
    message = result["message"].replace(os.environ["BAD_INPUTS_TMP"], "<tmp>")
    result["message"] = " ".join(_ANSI.sub("", message).split())
    try:
        result["changed"] = not bad.same(before, bad.snapshot(fw, model))
    except Exception as e:  # noqa: BLE001 - a model left unreadable counts as changed
        result["changed"] = f"unreadable after the call ({type(e).__name__})"
    if case.entry == "compile" or isinstance(result["changed"], str):
        _KERAS_MODELS.pop(case.model, None)   # new compile settings: the next case rebuilds
    return result


def _cell(text: str, limit: int = 300) -> str:
    text = text if len(text) <= limit else text[:limit] + " ..."
    return text.replace("|", "\\|") or "-"


@pytest.fixture(scope="module")
def keras() -> Any:
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


def test_bad_inputs_side_by_side(keras: Any, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAD_INPUTS_TMP", str(tmp_path))
    rows, problems = [], []
    for case in bad.CASES:
        ks = _outcome(keras, case)
        mk = _outcome(None, case)   # None: minikeras, fresh session
        rows.append((case, ks, mk))
        if mk["what"] == "accepted":
            problems.append(f"{case.id}: minikeras accepted it silently")
        if mk["what"] not in ("accepted", "warning") and mk["changed"]:
            problems.append(f"{case.id}: minikeras changed the model in a failing call")
        if ks["what"] not in ("accepted", "warning") and mk["what"] in ("accepted", "warning"):
            problems.append(f"{case.id}: Keras refuses ({ks['what']}) but minikeras "
                            f"{mk['what']}")
    counts = {
        "Keras raised": sum(k["what"] not in ("accepted", "warning") for _, k, _ in rows),
        "Keras warned": sum(k["what"] == "warning" for _, k, _ in rows),
        "Keras silent": sum(k["what"] == "accepted" for _, k, _ in rows),
        "Keras changed the model in a failing call": sum(
            bool(k["changed"]) and k["what"] not in ("accepted", "warning") for _, k, _ in rows),
        "minikeras raised": sum(m["what"] not in ("accepted", "warning") for _, _, m in rows),
        "minikeras warned": sum(m["what"] == "warning" for _, _, m in rows),
        "minikeras silent": sum(m["what"] == "accepted" for _, _, m in rows),
        "minikeras changed the model in a failing call": sum(
            bool(m["changed"]) and m["what"] not in ("accepted", "warning") for _, _, m in rows),
    }
    lines = [
        "# Bad inputs: Keras 3 and minikeras side by side",
        "",
        f"Generated by `parity_tests/test_bad_inputs_parity.py` (Keras {keras.__version__}) from "
        f"the {len(rows)} cases of `tests/test_bad_inputs.py`: the same call on the same small "
        "model (compiled, one training step taken) in both frameworks. minikeras gets a fresh "
        "model per case; Keras gets one model per kind, restored to the same weights, "
        "optimizer variables and RNN states before each case (so its traced functions carry "
        "over, as in a session that already trained). *changed*: the call moved the weights, "
        "optimizer variables, RNN states or compile settings (expected for accepted calls "
        "that train).",
        "",
        *[f"- {k}: {v}" for k, v in counts.items()],
        "",
        "| case | entry | Keras | Keras message | minikeras | minikeras message |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case, ks, mk in rows:
        def what(r: dict[str, Any]) -> str:
            return r["what"] + (" (changed)" if r["changed"] else "")
        lines.append(f"| {case.id} | {case.entry} | {what(ks)} | {_cell(ks['message'])} | "
                     f"{what(mk)} | {_cell(mk['message'])} |")
    REPORT.write_text("\n".join(lines) + "\n")
    assert not problems, "\n".join(problems)

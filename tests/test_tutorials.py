"""Every tutorial runs (``--quick``) on minikeras, and on Keras where installed: it finishes,
its loss goes down, and its plots are written. Plus the listing command and the notebook
format (percent cells, links to source files that exist)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `tutorials` is not an installed package: import it from here
    sys.path.insert(0, str(REPO))

import tutorials  # noqa: E402
from tutorials import TUTORIALS  # noqa: E402
from tutorials.__main__ import main as tutorials_main  # noqa: E402

NAMES = list(TUTORIALS)


def run(name: str, backend: str, tmp_path: Path, *extra: str) -> dict:
    argv = ["--quick", "--no-show", "--backend", backend, "--output", str(tmp_path), *extra]
    return tutorials.load(name).main(argv)


def check_result(result: dict, tmp_path: Path) -> None:
    losses = result["losses"]
    assert len(losses) >= 2
    assert all(map(lambda v: v == v, losses)), "NaN in the loss curve"
    assert losses[-1] < losses[0], f"the loss did not go down: {losses[0]} -> {losses[-1]}"
    assert result["plots"], "no plot was saved"
    for path in result["plots"]:
        path = Path(path)
        assert path.parent == tmp_path
        assert path.is_file() and path.stat().st_size > 1000, f"missing or empty plot {path}"


def _regression(result: dict) -> None:
    w, b = result["weights"]
    assert abs(w - 0.5) < 0.1 and abs(b - 2) < 0.05, (w, b)


def _autoencoder(result: dict) -> None:
    assert result["shared_layers"] and result["codes_shape"][1] == 2


def _saving(result: dict) -> None:
    assert result["max_differences"] == {"keras": 0.0, "weights_h5": 0.0, "json": 0.0}
    assert result["after_one_step"] == 0.0
    assert all(Path(f).is_file() for f in result["files"])


#: what each tutorial shows, checked on top of "it ran, the loss fell, the plots exist"
SPECIFIC = {"regression": _regression, "autoencoder": _autoencoder, "saving": _saving}


@pytest.mark.parametrize("name", NAMES)
def test_tutorial_quick_minikeras(name, tmp_path):
    result = run(name, "minikeras", tmp_path)
    check_result(result, tmp_path)
    assert all(p.name.endswith(("_minikeras.png", "_minikeras.gif"))
               for p in map(Path, result["plots"]))
    SPECIFIC.get(name, lambda r: None)(result)


@pytest.fixture(scope="module")
def real_keras():
    pytest.importorskip("tensorflow")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return pytest.importorskip("keras")


@pytest.mark.parity
@pytest.mark.parametrize("name", NAMES)
def test_tutorial_quick_keras(name, tmp_path, real_keras):
    result = run(name, "keras", tmp_path)
    check_result(result, tmp_path)


def test_mlp_full_run_reaches_90_percent(tmp_path):
    """The README's command: `python -m tutorials mlp` (2 epochs) must train a real model."""
    result = tutorials.load("mlp").main(["--no-show", "--output", str(tmp_path)])
    assert result["test_accuracy"] >= 0.90, result["test_accuracy"]


def test_cnn_channels_first(tmp_path):
    result = run("cnn", "minikeras", tmp_path, "--data-format", "channels_first")
    check_result(result, tmp_path)


def test_listing_and_unknown_name(capsys):
    assert tutorials_main([]) == 0
    listing = capsys.readouterr().out
    for name in NAMES:
        assert name in listing
    assert tutorials_main(["nope"]) == 2
    assert "Unknown tutorial" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_notebook_format_and_source_links(name):
    """Percent-format cells, an explanation first, and every ../minikeras link resolves."""
    path = REPO / "tutorials" / f"{TUTORIALS[name][0]}.py"
    text = path.read_text(encoding="utf-8")
    assert "format_name: percent" in text
    cells = re.findall(r"^# %%(.*)$", text, flags=re.M)
    assert cells[0].strip() == "[markdown]" and len(cells) >= 4
    links = re.findall(r"\]\((\.\./minikeras/[^)#]+)\)", text)
    assert links, "the explanation should link the source files"
    for link in links:
        assert (path.parent / link).resolve().exists(), f"{name}: broken link {link}"
    assert "def main(argv: list[str] | None = None) -> dict:" in text

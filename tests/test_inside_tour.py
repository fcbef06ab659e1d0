"""docs/inside.md cannot go stale: every snippet runs and prints what the tour says it prints,
and every `file.py:Name.attr` it points a reader to exists.

A snippet is a ```python block followed by an ```output block. Each runs in a fresh
namespace, after ``set_random_seed(0)`` and with float32 and fresh layer names, and its
stdout must equal the output block exactly (the snippets print rounded numbers).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from minikeras import backend
from minikeras.utils import set_random_seed

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "inside.md"
TEXT = DOC.read_text(encoding="utf-8")

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
_REF = re.compile(r"`((?:minikeras|tests|parity_tests|tutorials|docs)/[\w/]*?[\w]+\.(?:py|md))"
                  r"(?::([\w.]+))?`")


def snippets() -> list[tuple[str, str, str]]:
    """(section title, code, expected output) for every python block of the tour."""
    out, blocks = [], list(_FENCE.finditer(TEXT))
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        follow = blocks[i + 1] if i + 1 < len(blocks) else None
        between = TEXT[block.end():follow.start()] if follow else ""
        if follow is None or follow.group(1) != "output" or between.strip():
            raise AssertionError(f"docs/inside.md: the python block at offset {block.start()} "
                                 "must be followed directly by an ```output block.")
        title = re.findall(r"^## (.+)$", TEXT[:block.start()], re.M)[-1]
        out.append((title, block.group(2), follow.group(2)))
    return out


def run_snippet(code: str) -> str:
    """Run one snippet as the test does and return what it printed."""
    backend.clear_session()
    backend.set_floatx("float32")
    set_random_seed(0)
    buffer = io.StringIO()
    with np.printoptions(), contextlib.redirect_stdout(buffer):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__tour__"})  # noqa: S102
    return buffer.getvalue()


SNIPPETS = snippets()


def test_the_tour_has_a_snippet_at_every_stop() -> None:
    stops = re.findall(r"^## (\d+)\. ", TEXT, re.M)
    with_code = {title.split(".")[0] for title, _, _ in SNIPPETS}
    assert len(stops) >= 14 and set(stops[:14]) <= with_code


@pytest.mark.parametrize("title,code,expected", SNIPPETS,
                         ids=[t.split(" ")[0] + str(i) for i, (t, _, _) in enumerate(SNIPPETS)])
def test_snippet_prints_what_the_tour_says(title: str, code: str, expected: str) -> None:
    assert run_snippet(code) == expected, f"section {title!r}"


def _resolve(path: str, name: str | None) -> bool:
    file = ROOT / path
    if not file.exists():
        return False
    if name is None:
        return True
    if path.startswith("minikeras/"):
        obj = importlib.import_module(path[:-3].replace("/", "."))
        for part in name.split("."):
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    source = file.read_text(encoding="utf-8")
    return re.search(rf"^\s*(def|class) {re.escape(name.split('.')[-1])}\b", source,
                     re.M) is not None


def test_every_file_and_function_named_exists() -> None:
    refs = _REF.findall(TEXT)
    assert len(refs) > 40
    missing = [f"{p}:{n}" if n else p for p, n in refs if not _resolve(p, n or None)]
    assert not missing, f"docs/inside.md names what does not exist: {missing}"


def test_the_readme_links_the_tour() -> None:
    assert "(docs/inside.md)" in (ROOT / "README.md").read_text(encoding="utf-8")

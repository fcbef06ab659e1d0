"""benchmarks.profile_model runs and accounts for a step (no timing is asserted)."""

from __future__ import annotations

import re

from benchmarks.profile_model import profile


def test_profile_lists_every_part_of_the_step():
    text = profile("regression", steps=3)
    assert "| dense forward |" in text and "| optimizer update |" in text
    assert "| loss and dL/d(output) |" in text
    total = float(re.search(r"([\d.]+) ms per `train_on_batch` step", text).group(1))
    assert total > 0

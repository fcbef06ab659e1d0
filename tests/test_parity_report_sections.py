"""A regenerated parity report keeps its hand-written sections (Keras' deviations...)."""

from __future__ import annotations

from parity_tests.report import kept_sections


def test_hand_written_sections_are_kept(tmp_path):
    report = tmp_path / "parity_report.md"
    report.write_text("# Parity report\n\n| table |\n\n## Loss curves\n\n### 1 mlp\n\n![p](p.png)\n"
                      "\n## Keras' deviations\n\ntext A\n\n### a case\n\nB\n"
                      "\n## Another hand-written section\n\nC\n")
    assert kept_sections(report) == [
        "## Keras' deviations", "", "text A", "", "### a case", "", "B", "",
        "## Another hand-written section", "", "C"]
    assert kept_sections(tmp_path / "missing.md") == []

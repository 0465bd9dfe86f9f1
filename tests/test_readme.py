"""The README's configuration table is generated from the settings classes."""
from __future__ import annotations

from pathlib import Path

from core.settings_doc import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_setting():
    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
    table = text.split(begin, 1)[1].split(end, 1)[0].strip()
    assert table == markdown_table(), "regenerate with: .venv/bin/python -m core.settings_doc"


def test_readme_quick_start_commands():
    text = README.read_text(encoding="utf-8")
    assert "./dev demo" in text and "./dev test" in text

"""The README's configuration table lists every setting with its current default."""

from __future__ import annotations

from rag.settings import Settings
from rag.settings_table import BEGIN, END, render_table
from tests.conftest import ROOT


def test_readme_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip()
    assert table == render_table(), "README is stale: run `python -m rag.settings_table`"


def test_every_setting_has_a_row_and_a_meaning() -> None:
    table = render_table()
    for name, field in Settings.model_fields.items():
        assert f"`RAG_{name.upper()}`" in table
        assert field.description, f"setting {name} has no description"

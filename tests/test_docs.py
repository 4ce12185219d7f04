"""Every setting is documented: each field of ``Settings`` has one of its environment names in the README."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from moontv.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _names(field: str) -> list[str]:
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices), field
    return [str(choice) for choice in alias.choices]


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    undocumented = [
        _names(field)[0]
        for field in Settings.model_fields
        if not any(f"`{name}`" in text for name in _names(field))
    ]
    assert undocumented == []


def test_the_check_sees_every_setting() -> None:
    assert len(Settings.model_fields) >= 50
    assert "MOONTV_LOG_LEVEL" in _names("log_level")

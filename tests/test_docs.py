"""The README documents every option, and its commands exist."""

from __future__ import annotations

from pathlib import Path

from jupyter_webpty.app import WebPtyApp

ROOT = Path(__file__).resolve().parents[1]


def test_every_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    ours = [name for name in WebPtyApp.class_own_traits(config=True) if not name.startswith("_")]
    assert ours
    missing = [name for name in ours if f"| `{name}` |" not in readme]
    assert missing == []


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for script in ("scripts/launch", "scripts/test"):
        assert script in readme
        assert (ROOT / script).is_file()
    assert "sh scripts/test" in (ROOT / ".ci" / "run").read_text()

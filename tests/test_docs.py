"""The README documents every option, and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp

from jupyter_webpty.app import WebPtyApp

ROOT = Path(__file__).resolve().parents[1]


def test_every_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    # Ours: WebPtyApp's own and those it inherits from SessionLimits, not jupyter-server's.
    inherited = ExtensionApp.class_traits(config=True)
    ours = [name for name in WebPtyApp.class_traits(config=True) if name not in inherited]
    assert "scrollback_bytes" in ours
    missing = [name for name in ours if f"| `{name}` |" not in readme]
    assert missing == []


def test_readme_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for script in ("scripts/launch", "scripts/test"):
        assert script in readme
        assert (ROOT / script).is_file()
    assert "sh scripts/test" in (ROOT / ".ci" / "run").read_text()


def binder_links(source: str) -> dict[str, str]:
    """The Binder links the README must carry, derived from ``[project.urls] Source``."""
    owner_repo = source.removeprefix("https://github.com/").strip("/")
    base = f"https://mybinder.org/v2/gh/{owner_repo}/HEAD"
    return {
        "lab": f"{base}?urlpath=lab/tree/examples/demo.ipynb",
        "notebook": f"{base}?urlpath=tree/examples/demo.ipynb",
    }


def test_binder_links_follow_project_urls() -> None:
    # (tomllib is 3.11+, and the package supports 3.10)
    pyproject = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^Source = "([^"]+)"$', pyproject, re.MULTILINE)
    assert found is not None
    readme = (ROOT / "README.md").read_text()
    for link in binder_links(found.group(1)).values():
        assert f"({link})" in readme
    assert (ROOT / "examples" / "demo.ipynb").is_file()
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111

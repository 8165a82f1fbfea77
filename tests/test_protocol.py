"""The protocol is spelled twice (Python and TypeScript); keep both equal, and versions too."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from jupyter_webpty import __version__, protocol

ROOT = Path(__file__).resolve().parents[1]


def typescript_constants() -> dict[str, object]:
    source = (ROOT / "labextension" / "src" / "protocol.ts").read_text()
    found = {}
    for name, value in re.findall(r"^export const (\w+) = (.+);$", source, re.MULTILINE):
        found[name] = ast.literal_eval(value.replace("_", ""))
    return found


def python_constants() -> dict[str, object]:
    return {
        name: value
        for name, value in vars(protocol).items()
        if name.isupper() and isinstance(value, (int, str))
    }


def test_protocol_ts_equals_protocol_py() -> None:
    assert typescript_constants() == python_constants()


def test_version_has_one_source() -> None:
    """package.json holds the version; the build and ``__version__`` both read it there."""
    package = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert package["version"] == __version__
    # (a regex: tomllib is 3.11+, and the package supports 3.10)
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[tool\.hatch\.version\]\n((?:.+\n)+)", pyproject, re.MULTILINE)
    assert section is not None
    assert 'source = "nodejs"' in section.group(1)
    assert 'path = "labextension/package.json"' in section.group(1)
    assert not re.search(r"\d+\.\d+\.\d+", (ROOT / "jupyter_webpty" / "_version.py").read_text())


def test_every_event_is_documented() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    for event in protocol.CLIENT_EVENTS + protocol.SERVER_EVENTS:
        assert f"`{event}`" in doc


def test_no_ack_events_are_client_events_named_in_the_order_rule() -> None:
    assert protocol.NO_ACK_EVENTS.issubset(protocol.CLIENT_EVENTS)
    doc = (ROOT / "docs" / "protocol.md").read_text()
    rule = next(line for line in doc.splitlines() if line.startswith("- Order:"))
    named = {event for event in protocol.CLIENT_EVENTS if f"`{event}`" in rule}
    assert named == protocol.NO_ACK_EVENTS

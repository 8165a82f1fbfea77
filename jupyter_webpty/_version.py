"""The package version: ``labextension/package.json``'s, the one place it is written.

The build reads the same field (hatch-nodejs-version, ``[tool.hatch.version]`` in
pyproject.toml) into the wheel's metadata. A source checkout (an editable install, or the tree on
``PYTHONPATH``) reads package.json itself, so a version bump needs no reinstall; an installed
wheel, which has no package.json beside the package, asks its own metadata.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path


def _version() -> str:
    package_json = Path(__file__).resolve().parent.parent / "labextension" / "package.json"
    if package_json.is_file():
        return str(json.loads(package_json.read_text(encoding="utf-8"))["version"])
    return version("jupyter-webpty")


__version__ = _version()

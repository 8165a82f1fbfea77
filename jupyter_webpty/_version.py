"""The single source of the package version (package.json is checked against it)."""

__version__ = "0.1.0"

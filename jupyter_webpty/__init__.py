"""jupyter-webpty: persistent web terminals for Jupyter.

Entry points for jupyter-server (the extension), JupyterLab (the prebuilt labextension) and
IPython (``%load_ext jupyter_webpty``). Heavy imports stay lazy so that importing the package
in a kernel does not pull in the server.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["WebTerminal", "__version__", "load_ipython_extension"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import WebPtyApp  # noqa: PLC0415 - the kernel side never needs the server

    return [{"module": "jupyter_webpty", "app": WebPtyApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-webpty"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_webpty``: register the ``%webterm`` magic."""
    from .magic import load_ipython_extension as load  # noqa: PLC0415 - kernel side only

    load(ipython)


def __getattr__(name: str) -> Any:
    # ``from jupyter_webpty import WebTerminal`` without importing ipywidgets up front.
    if name == "WebTerminal":
        from .widget import WebTerminal  # noqa: PLC0415

        return WebTerminal
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

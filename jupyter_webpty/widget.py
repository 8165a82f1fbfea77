"""``WebTerminal``: a terminal in a notebook output, attached by name to a server-side session.

Why a classic ipywidget plus a mime type, and not anywidget: the view code (xterm.js, the
socket connection) already ships in our prebuilt labextension, so a classic widget registered
from it costs nothing per instance, where anywidget would sync the ~400 KB bundle into every
widget. And because a widget model lives in the kernel, a widget view cannot come back after
a kernel restart followed by a page reload ("model not found"). So the display bundle also
carries ``application/vnd.jupyter.webpty.terminal+json`` (just the session name), which our
labextension renders in preference to the widget view: the terminal in the output then needs
neither the kernel nor the widget model, and re-attaches by name after restarts and reloads.
A random ``display`` key per display lets the browser remember the session id an output showed
and report it gone (rather than silently start a new shell) after a server restart.
The widget view is what renders when the widget sits in a container (``VBox([...])``).

Terminal I/O goes from the browser straight to the server's Socket.IO endpoint, never through
the kernel; ``send``/``close`` use the REST API (``api.py``).
"""

from __future__ import annotations

import secrets
from typing import Any

import ipywidgets
from traitlets import Int, Unicode, validate

from . import commands, protocol
from ._version import __version__
from .api import SessionsClient
from .commands import RunResult

MIME_TYPE = "application/vnd.jupyter.webpty.terminal+json"
MODULE = "jupyter-webpty"
MODULE_VERSION = f"^{__version__}"


class WebTerminal(ipywidgets.DOMWidget):  # type: ignore[misc]
    """A live terminal bound to the session called ``session`` (created when first shown)."""

    _model_name = Unicode("WebTermModel").tag(sync=True)
    _view_name = Unicode("WebTermView").tag(sync=True)
    _model_module = Unicode(MODULE).tag(sync=True)
    _view_module = Unicode(MODULE).tag(sync=True)
    _model_module_version = Unicode(MODULE_VERSION).tag(sync=True)
    _view_module_version = Unicode(MODULE_VERSION).tag(sync=True)

    session = Unicode("default", help="Name of the server-side session.").tag(sync=True)
    height = Int(20, help="Height in terminal rows.").tag(sync=True)
    cwd = Unicode(None, allow_none=True, help="Start directory if the session is new.").tag(
        sync=True
    )

    def __init__(
        self,
        session: str = "default",
        *,
        cwd: str | None = None,
        height: int = 20,
        client: SessionsClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session=session, cwd=cwd, height=height, **kwargs)
        self._client = client

    @validate("session")
    def _valid_session(self, proposal: dict[str, Any]) -> str:
        name = proposal["value"]
        protocol.parse_reconnect({"name": name})  # same rules as the server
        return str(name)

    @validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        height = int(proposal["value"])
        # The protocol's bounds, as the labextension's renderer checks them (mime.ts).
        if not protocol.MIN_SIZE <= height <= protocol.MAX_SIZE:
            msg = (
                f"height must be between {protocol.MIN_SIZE} and {protocol.MAX_SIZE} rows, "
                f"got {height}"
            )
            raise ValueError(msg)
        return height

    @property
    def client(self) -> SessionsClient:
        """The REST client (found from the kernel's environment on first use)."""
        if self._client is None:
            self._client = SessionsClient()
        return self._client

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle[MIME_TYPE] = {
                "session": self.session,
                "height": self.height,
                "cwd": self.cwd,
                # New for every display: the browser remembers under it which session this
                # output showed, so a re-rendered output (page reload after a server restart)
                # reports its shell gone instead of creating one under the old name, while
                # running the cell again (a new display) opens by name as before.
                "display": secrets.token_hex(8),
            }
            bundle["text/plain"] = f"WebTerminal(session={self.session!r})"
        return bundle

    def send(self, text: str) -> None:
        """Type ``text`` into the shell (the session is created if it does not exist yet)."""
        self.client.send(self.session, text)

    def run(self, cmd: str, timeout: float | None = None, check: bool = False) -> RunResult:
        """Type ``cmd`` into the shell, wait for it to end, return its exit code and output.

        The command runs in the persistent session, live in every view of it (answer its
        prompts there); no browser needs to be attached. With shell integration (bash, zsh)
        the shell's marks delimit it; otherwise a sentinel ``printf`` does (README, "Running
        commands from Python"). ``check=True`` raises ``CommandFailed`` on a non-zero exit;
        after ``timeout`` seconds ``CommandTimeout`` is raised and the command keeps running.
        ``SessionBusy`` is raised if another command is running in the session.
        """
        if not cmd.strip():
            msg = "run() needs a command"
            raise ValueError(msg)
        return commands.run(self.client, self.session, cmd, timeout=timeout, check=check)

    def info(self) -> protocol.SessionInfo | None:
        """The session's description from the server, or None if it is not running."""
        return self.client.find(self.session)

    def close(self) -> None:
        """End the shell (and everything started from it), then close the widget."""
        self.client.close(self.session)
        super().close()

    def __del__(self) -> None:
        # ipywidgets closes a widget when it is garbage-collected (and in close_all()); that
        # must drop only the widget, never the shell the user expects to survive.
        ipywidgets.DOMWidget.close(self)

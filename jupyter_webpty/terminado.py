"""Jupyter's own terminal API served from webpty sessions: a terminado-protocol transport.

Another door to the same ``SessionManager`` as the Socket.IO transport, for clients that speak
jupyter_server_terminals' API (VS Code's remote Jupyter, scripts, older frontends):

* REST ``{base_url}api/terminals`` and ``{base_url}api/terminals/{name}`` with the same models
  (``name``, ``last_activity``), status codes and authorization (``read``/``write`` on
  ``terminals`` by HTTP method) as jupyter_server_terminals' ``api_handlers.py``;
* the websocket ``{base_url}terminals/websocket/{name}`` speaking terminado's JSON frames under
  the same checks as its ``TermSocket`` (identity, Host and origin, ``execute`` on
  ``terminals``).

A terminado name is the webpty session ``name`` among the caller's sessions (``owner_of``), so a
terminal made here is listed in ``webpty/api/sessions`` and the other way round. Only
translation happens here: the frames are in ``terminado_frames.py``, sessions in the core.

Library internals used (each pinned by ``tests/test_terminals_api.py``): tornado's
``default_router.rules`` list, to put our rule first (``mount``); ``jupyter_server._tz.isoformat``,
the timestamp format of jupyter_server_terminals' model. The off switch is the opt-in itself.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any

from jupyter_server._tz import isoformat
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import routing, web, websocket

from . import protocol
from .auth import Guarded, OwnedAPIHandler, http_errors, is_authorized, owner_of
from .core import InvalidCwd, PtySession, SessionManager, SessionNotFound, WebPtyError
from .terminado_frames import FrameError, Resize, parse_frame

log = logging.getLogger(__name__)

#: A full reset before a restore: a reconnecting terminado client keeps its old screen
#: (JupyterLab's terminal widget does), and the replay must not land on top of it.
RESET = "\x1bc"
_NAME = r"(?P<name>[^/]+)"  # our names are any printable text, not only terminado's \w+


def model(session: PtySession) -> dict[str, str]:
    """jupyter_server_terminals' terminal model of a session."""
    activity = datetime.fromtimestamp(session.last_activity, timezone.utc)
    return {"name": session.name, "last_activity": isoformat(activity)}


def _not_found(exc: SessionNotFound) -> str:
    return f"Terminal not found: {exc.key}"  # jupyter_server_terminals' message


class _TerminalsAPI(OwnedAPIHandler):
    # 409 for a refusal (name taken, limits), where jupyter_server_terminals answers 500 for its
    # MaxTerminalsReached.

    def session(self, name: str) -> PtySession:
        with http_errors(_not_found):
            return self.manager.find(self.owner, name=name)


class TerminalRootHandler(_TerminalsAPI):
    """``GET/POST {base_url}api/terminals``: list the caller's sessions, or start one."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(json.dumps([model(s) for s in self.manager.sessions(self.owner)]))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Body ``{"name"?, "cwd"?}``; 200 with the model, as jupyter_server_terminals answers."""
        body = self.get_json_body() or {}
        if not isinstance(body, dict):
            raise web.HTTPError(400, "request body must be a JSON object")
        with http_errors(_not_found):
            request = protocol.parse_create(
                {"cols": 80, "rows": 24, "name": body.get("name"), "cwd": body.get("cwd")}
            )
            cwd = request.cwd
            try:
                self.manager.resolve_cwd(cwd)
            except InvalidCwd as exc:
                # jupyter_server_terminals starts a terminal it cannot place in the default
                # directory instead of failing; we do too (and never outside the root).
                log.warning("terminal: %s; starting in the default directory", exc)
                cwd = None
            session = self.manager.create(
                self.owner, cols=request.cols, rows=request.rows, name=request.name, cwd=cwd
            )
        self.finish(json.dumps(model(session)))


class TerminalHandler(_TerminalsAPI):
    """``GET/DELETE {base_url}api/terminals/{name}``."""

    SUPPORTED_METHODS = ("GET", "DELETE", "OPTIONS")

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.finish(json.dumps(model(self.session(name))))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.session(name).terminate()
        self.set_status(204)
        self.finish()


class TerminalSocket(Guarded, WebSocketMixin, JupyterHandler, websocket.WebSocketHandler):
    """``{base_url}terminals/websocket/{name}``: one terminado client attached to a session.

    Flow control: terminado clients send no acks, so output counts as acknowledged once tornado
    has handed its frame to the kernel (the ``write_message`` future). A client that stops
    reading fills the socket buffers, the futures stop resolving, and the session stops
    delivering to it at ``flow_high_water`` unacknowledged bytes (and stops reading the PTY if
    no other viewer takes more), so its backlog cannot grow server memory.
    """

    manager: SessionManager
    owner_policy: str
    sockets: Sockets
    _session: PtySession | None = None
    _owner: str = ""

    def initialize(self, manager: SessionManager, owner_policy: str, sockets: Sockets) -> None:
        self.manager = manager
        self.owner_policy = owner_policy
        self.sockets = sockets
        # One decoder per connection: a read may end inside a character (decoding each
        # read alone turned split characters into U+FFFD).
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def max_message_size(self) -> int:
        return protocol.MAX_MESSAGE_BYTES

    @ws_authenticated
    async def get(self, name: str) -> None:
        allowed = await is_authorized(self, "execute")
        owner = owner_of(self, self.owner_policy)
        if not allowed or owner is None:
            raise web.HTTPError(403)
        try:
            self._session = self.manager.find(owner, name=name)
        except SessionNotFound as exc:
            raise web.HTTPError(404, f"Terminal not found: {name}") from exc
        self._owner = owner
        await super().get(name)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)  # Jupyter's keep-alive pings
        session = self._session
        if session is None or not session.is_alive:
            self._send(["disconnect", 1])
            self.close()
            return
        self.set_nodelay(True)  # keystroke echo, as the Socket.IO handler does
        self._send(["setup", {}])
        # Offset None: the current screen (restore preamble + replay), not a tail.
        attached = session.attach(self, self._output, self._reset)
        self._send(["stdout", RESET + attached.preamble])
        self.sockets.add(session.id, self)
        self.manager.notify_changed(self._owner)

    def _send(self, frame: list[Any]) -> Awaitable[None] | None:
        try:
            return self.write_message(json.dumps(frame))
        except websocket.WebSocketClosedError:
            return None

    def _output(self, data: bytes, end: int) -> None:
        text = self._decoder.decode(data)
        written = self._send(["stdout", text]) if text else None
        session = self._session
        if written is None:
            if session is not None and text == "":
                session.ack(self, end)  # bytes held by the decoder: nothing to wait for
            return
        future: Any = written

        def flushed(done: Any) -> None:
            if done.cancelled() or done.exception() is not None:
                return  # the socket closed; on_close detaches
            if self._session is not None:
                self._session.ack(self, end)

        future.add_done_callback(flushed)

    def _reset(self, preamble: str, start: int) -> None:
        # This client fell behind the retained output: repaint the screen from a restore point.
        self._decoder.reset()
        self._send(["stdout", RESET + preamble])

    async def on_message(self, message: str | bytes) -> None:
        session = self._session
        if session is None:
            return
        try:
            frame = parse_frame(message)
        except FrameError as exc:
            log.info("terminado client sent a bad frame: %s", exc)
            self.close(1007, str(exc)[:100])
            return
        try:
            if isinstance(frame, Resize):
                session.resize(frame.cols, frame.rows, key=self)
            elif frame is not None:
                session.write(frame.encode("utf-8", "replace"), key=self)
        except WebPtyError as exc:  # ended, or the shell reads no input: as terminado, drop it
            log.info("terminal %s: input dropped: %s", session.id, exc)

    def on_close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.detach(self)
            self.sockets.discard(session.id, self)
            self.manager.notify_changed(self._owner)

    def session_exited(self) -> None:
        """The shell ended: terminado's ``["disconnect", 1]``, then close."""
        self._session = None
        self._send(["disconnect", 1])
        self.close()


class Sockets:
    """The open terminado sockets per session id; tells them when their session ends.

    A manager listener, registered once: ``PtySession.on_exit`` keeps every callback for the
    session's life, which reconnecting clients would grow without bound.
    """

    def __init__(self) -> None:
        self._by_session: dict[str, set[TerminalSocket]] = {}

    def add(self, session_id: str, socket: TerminalSocket) -> None:
        """Remember that ``socket`` shows that session."""
        self._by_session.setdefault(session_id, set()).add(socket)

    def discard(self, session_id: str, socket: TerminalSocket) -> None:
        """Forget ``socket`` (it closed)."""
        sockets = self._by_session.get(session_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_session[session_id]

    def session_exited(self, session: PtySession) -> None:
        """Send ``["disconnect", 1]`` to the session's sockets and close them."""
        for socket in list(self._by_session.pop(session.id, ())):
            socket.session_exited()

    def sessions_changed(self, owner: str) -> None:
        """Nothing to tell: terminado clients poll ``api/terminals``."""


def mount(
    web_app: web.Application, base_urls: list[str], manager: SessionManager, owner_policy: str
) -> None:
    """Serve the terminal API ahead of every other extension's routes.

    Tornado tries host rules in order and each ``add_handlers`` call (one per extension, in
    alphabetical order) inserts before the last, so jupyter_server_terminals' rules would match
    first; ours go in front instead.
    """
    sockets = Sockets()
    manager.add_listener(sockets)
    kwargs = {"manager": manager, "owner_policy": owner_policy}
    routes: list[Any] = []
    for base_url in base_urls:
        base = re.escape(base_url.rstrip("/"))
        routes += [
            (rf"{base}/api/terminals/?", TerminalRootHandler, kwargs),
            (rf"{base}/api/terminals/{_NAME}/?", TerminalHandler, kwargs),
            (
                rf"{base}/terminals/websocket/{_NAME}/?",
                TerminalSocket,
                {**kwargs, "sockets": sockets},
            ),
        ]
    router: Any = web_app.default_router
    rule = router.process_rule(routing.Rule(routing.HostMatches(".*$"), routes))
    router.rules.insert(0, rule)

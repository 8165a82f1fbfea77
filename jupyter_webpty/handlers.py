"""Jupyter glue for HTTP: the Socket.IO endpoint under Jupyter's auth, and the REST API.

Security choices (see README, "Security model"):

* The Socket.IO handler *is* a Jupyter handler (``WebSocketMixin`` + ``JupyterHandler`` +
  Engine.IO's tornado handler), so the identity provider, the Host check against DNS
  rebinding, the origin policy and the authorizer (``execute`` on ``terminals``) all run on
  the HTTP upgrade request, before Engine.IO allocates a session.
* Websocket transport only: long-polling (whose POSTs would need XSRF and whose first GET is not
  origin-checked) and JSONP are refused with 400 after authentication. Engine.IO's own CORS
  logic, which trusts ``X-Forwarded-Host``, is disabled; Jupyter's origin check decides.
* One connection cannot grow server memory without bound (docs/protocol.md, "Limits"):
  python-engineio's tornado driver checks the query only after accepting the websocket and
  queues frames without limit, so the query is checked here before the upgrade, frames that
  would kill Engine.IO's reader or make python-socketio buffer attachments close the
  connection, and the queues in and out of it are bounded.
* Nothing logged carries the request's query (``?token=``): see ``ScrubbedLog``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import socketio
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.log import app_log, gen_log
from tornado.websocket import WebSocketClosedError

from . import protocol
from .core import InvalidCwd, SessionManager, SessionNotFound, WebPtyError, command_text
from .transport import command_info, describe, packet_problem

AUTH_RESOURCE = "terminals"
#: The owner key of everyone the single-user identity providers let in: the server's owner.
SERVER_OWNER = "server-owner"
_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)
#: Frames received but not yet taken by Engine.IO's reader, per connection. When full, the
#: handler stops reading the socket (TCP pushes back on the client): at most this many
#: frames of up to ``protocol.MAX_MESSAGE_BYTES`` wait in memory.
MAX_QUEUED_FRAMES = 16
#: Output written but not yet taken by the kernel, per connection. Flow control keeps a
#: well-behaved client far below it (``flow_high_water`` per attached session); a client that
#: stops reading while asking for answers reaches it and its connection is dropped.
MAX_UNSENT_BYTES = 16 * 1024 * 1024
#: Engine.IO packet types a client may send without data beyond a few characters: CLOSE, PONG
#: ("3", "3probe"), UPGRADE, NOOP. Python-engineio decodes any data as JSON, unguarded.
_SHORT_ENGINEIO_PACKET = 16
_ENGINEIO_TYPES = frozenset("0123456")


def _without_query(uri: str | None) -> str:
    return (uri or "").partition("?")[0]


class ScrubbedLog:
    """``log_exception`` as tornado's, with the request's query left out.

    Tornado logs an HTTPError's message and any uncaught exception with the full URI, and a
    websocket URL or REST call may carry ``?token=``. (jupyter-server's own request log already
    scrubs it.)
    """

    request: Any

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        summary = (
            f"{self.request.method} {_without_query(self.request.uri)} ({self.request.remote_ip})"
        )
        if isinstance(value, web.HTTPError):
            if value.log_message:
                message = value.log_message % value.args if value.args else value.log_message
                gen_log.warning("%d %s: %s", value.status_code, summary, message)
        else:
            app_log.error("Uncaught exception %s", summary, exc_info=value)


def _engineio_query_problem(query: str) -> str | None:
    """Why ``query`` is not a fresh Engine.IO 4 websocket handshake, or None.

    python-engineio checks these only after tornado accepted the websocket, and a refused
    query then left the socket open with nothing reading it.
    """
    fields = parse_qs(query, keep_blank_values=True)
    if fields.get("EIO") != ["4"]:
        return "webpty speaks Engine.IO 4 (EIO=4) only"
    if fields.get("transport") != ["websocket"]:
        return "webpty accepts the websocket transport only"
    if "sid" in fields or "j" in fields:
        return "webpty accepts only new websocket connections (no sid, no JSONP)"
    return None


def _frame_problem(message: str | bytes) -> str | None:
    """Why an incoming websocket frame must close its connection (Engine.IO level), or None.

    Python-engineio's reader task dies on an empty frame, an unknown packet type, bad base64
    or data nested too deeply for ``json``; after that every frame of the connection queued
    forever. Clients never need binary frames (docs/protocol.md).
    """
    if isinstance(message, bytes) or message[:1] == "b":
        return "binary messages are not accepted"
    if message[:1] not in _ENGINEIO_TYPES:
        return "not an Engine.IO packet"
    if message[0] != "4" and len(message) > _SHORT_ENGINEIO_PACKET:
        return "unexpected Engine.IO packet"
    return None


def owner_of(handler: JupyterHandler, policy: str) -> str | None:
    """The owner key of an authenticated request, or None.

    ``policy`` "server" maps every authenticated request to the server's owner, "user" uses the
    username, "auto" picks "server" for jupyter-server's own single-user identity providers
    (which give each token request a fresh random anonymous name) and "user" otherwise.
    """
    user = handler.current_user
    if not user:
        return None
    if policy == "auto":
        single = type(handler.identity_provider) in _SINGLE_USER_PROVIDERS
        policy = "server" if single else "user"
    if policy == "server":
        return SERVER_OWNER
    return f"user:{user.username}"


async def _is_authorized(handler: JupyterHandler, action: str) -> bool:
    user = handler.current_user
    if not user:
        return False
    return bool(
        await ensure_async(handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE))
    )


def socket_handler(sio: socketio.AsyncServer, owner_policy: str) -> type[web.RequestHandler]:
    """The tornado handler class for ``{base_url}webpty/socket.io/`` bound to ``sio``."""
    engineio_handler: Any = socketio.get_tornado_handler(sio)

    class WebPtySocketHandler(
        ScrubbedLog,
        WebSocketMixin,
        JupyterHandler,
        engineio_handler,  # type: ignore[misc]
    ):
        """Engine.IO behind Jupyter's identity provider, Host/origin checks and authorizer."""

        auth_resource = AUTH_RESOURCE
        webpty_owner: str | None = None
        _receiver: Callable[[str], bool] | None = None
        _refused = False
        _last_put: asyncio.Task[None] | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Engine.IO's own queue is unbounded; on_message waits while this one is full.
            self.receive_queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(MAX_QUEUED_FRAMES)

        @property
        def max_message_size(self) -> int:
            return protocol.MAX_MESSAGE_BYTES

        def open(self, *args: Any, **kwargs: Any) -> Any:
            # Socket.IO sends a binary event as two websocket frames; with Nagle's algorithm
            # (tornado's default) the second waits for the client's delayed ACK, ~40 ms on
            # Linux, on every keystroke echo.
            self.set_nodelay(True)
            stream = getattr(self.ws_connection, "stream", None)
            if stream is not None:  # writes past the bound raise StreamBufferFullError
                stream.max_write_buffer_size = MAX_UNSENT_BYTES
            return super().open(*args, **kwargs)

        def on_close(self) -> None:
            # Engine.IO's reader ends when it takes None; a full queue takes it a bit later.
            try:
                self.receive_queue.put_nowait(None)
            except asyncio.QueueFull:
                self._last_put = asyncio.ensure_future(self.receive_queue.put(None))

        def refuse(self, reason: str, code: int = 1008) -> None:
            """Close this connection for a frame it sent; drop whatever it sends after."""
            self._refused = True
            self.log.info("webpty: closing a connection: %s", reason)
            self.close(code, reason)

        def _drop(self) -> None:
            # The client does not read: a close frame would not fit either.
            self._refused = True
            self.log.info("webpty: dropping a connection that does not read its output")
            stream = getattr(self.ws_connection, "stream", None)
            if stream is not None:
                stream.close()

        def write_message(self, message: Any, binary: bool = False) -> Any:
            try:
                return super().write_message(message, binary=binary)
            except StreamBufferFullError:
                self._drop()
                raise WebSocketClosedError() from None

        def ping(self, data: str | bytes = b"") -> None:
            try:
                super().ping(data)
            except StreamBufferFullError:
                self._drop()

        def close(self, code: int | None = None, reason: str | None = None) -> None:
            try:
                super().close(code, reason)
            except StreamBufferFullError:
                self._drop()

        # -- transport.Wire: the hot path past Engine.IO's queues ---------------------------
        def set_receiver(self, receiver: Callable[[str], bool] | None) -> None:
            self._receiver = receiver

        def send_message(self, text: str, attachment: bytes | None) -> bool:
            connection = self.ws_connection
            if connection is None or connection.is_closing():
                return False
            message = ("4" + text).encode()  # "4": an Engine.IO message
            stream = getattr(connection, "stream", None)
            try:
                if stream is not None:
                    stream.write(_frames(message, attachment))
                else:  # a tornado without the stream attribute: the public, slower way
                    self.write_message(message)
                    if attachment is not None:
                        self.write_message(attachment, binary=True)
            except (StreamClosedError, WebSocketClosedError):
                return False
            except StreamBufferFullError:
                self._drop()
                return False
            return True

        async def on_message(self, message: str | bytes) -> None:
            if self._refused:
                return
            problem = _frame_problem(message)
            if problem is not None:
                self.refuse(problem, 1003 if isinstance(message, bytes) else 1008)
                return
            assert isinstance(message, str)  # noqa: S101 (binary frames were refused above)
            receiver = self._receiver
            # Tornado waits for this method before it reads the next frame, so packets are
            # handled in arrival order, whichever path each takes.
            if message[0] == "4":
                if receiver is not None and receiver(message[1:]):
                    return
                problem = packet_problem(message[1:])
                if problem is not None:
                    self.refuse(problem)
                    return
            # Waits while the bounded queue is full: tornado reads no further frame meanwhile.
            await self.receive_queue.put(message)

        def get_compression_options(self) -> dict[str, Any] | None:
            # Deflate costs more CPU than loopback and LAN links save; kernels don't use it either.
            return None

        @ws_authenticated
        async def get(self, *args: Any, **kwargs: Any) -> None:
            if not await _is_authorized(self, "execute"):
                raise web.HTTPError(403)
            if self.request.headers.get("Upgrade", "").lower() != "websocket":
                raise web.HTTPError(400, "webpty accepts the websocket transport only")
            problem = _engineio_query_problem(self.request.query)
            if problem is not None:
                raise web.HTTPError(400, problem)
            self.webpty_owner = owner_of(self, owner_policy)
            await ensure_async(super().get(*args, **kwargs))

        @ws_authenticated
        async def post(self, *args: Any, **kwargs: Any) -> None:
            raise web.HTTPError(405, "webpty accepts the websocket transport only")

        @ws_authenticated
        async def options(self, *args: Any, **kwargs: Any) -> None:
            raise web.HTTPError(405, "webpty accepts the websocket transport only")

    return WebPtySocketHandler


def _frames(text: bytes, attachment: bytes | None) -> bytes:
    """A text websocket frame and, if given, a binary one, in one buffer (RFC 6455 5.2).

    Tornado's ``write_message`` wraps every write in a task of its own and copies the payload;
    two of them per chunk of output were the largest server cost of a keystroke echo. Written
    here, both frames leave in one send(2). Unmasked and uncompressed, as the handler's
    ``get_compression_options`` disables deflate.
    """
    parts = [_frame_head(0x1, len(text)), text]
    if attachment is not None:
        parts += (_frame_head(0x2, len(attachment)), attachment)
    return b"".join(parts)


def _frame_head(opcode: int, size: int) -> bytes:
    if size < 126:
        return bytes((0x80 | opcode, size))
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x80 | opcode, 126, size)
    return struct.pack("!BBQ", 0x80 | opcode, 127, size)


def wire(environ: dict[str, Any]) -> Any:
    """The socket handler itself: it implements ``transport.Wire``."""
    return environ.get("tornado.handler")


def identify(environ: dict[str, Any]) -> str | None:
    """The owner key the socket handler stored on itself before Engine.IO ran."""
    handler = environ.get("tornado.handler")
    return getattr(handler, "webpty_owner", None)


@contextlib.contextmanager
def _http_errors() -> Iterator[None]:
    """Map protocol and core errors to Jupyter's JSON HTTP errors.

    400 for a malformed request or a directory outside the root, 404 for an unknown (or
    foreign) session, 409 for a refusal given the current state (name taken, limits).
    """
    try:
        yield
    except (protocol.ProtocolError, InvalidCwd) as exc:
        raise web.HTTPError(400, str(exc)) from exc
    except SessionNotFound as exc:
        raise web.HTTPError(404, str(exc)) from exc
    except WebPtyError as exc:
        raise web.HTTPError(409, str(exc)) from exc


class _SessionsHandler(ScrubbedLog, APIHandler):
    # Every method needs ``execute`` on ``terminals``, as the socket does (docs/protocol.md):
    # not jupyter's method-derived read/write, which would let a principal denied terminals
    # list their commands and directories and close them.
    manager: SessionManager
    owner_policy: str

    def initialize(self, manager: SessionManager, owner_policy: str) -> None:
        self.manager = manager
        self.owner_policy = owner_policy

    @property
    def owner(self) -> str:
        owner = owner_of(self, self.owner_policy)
        if owner is None:
            raise web.HTTPError(403)
        return owner

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise web.HTTPError(400, "request body is not JSON") from exc
        except RecursionError:
            raise web.HTTPError(400, "request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "request body must be a JSON object")
        return data


class SessionsHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions``: list or create the caller's sessions."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self) -> None:
        self.finish(json.dumps([describe(s) for s in self.manager.sessions(self.owner)]))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self) -> None:
        body = self.body()
        body.setdefault("cols", 80)
        body.setdefault("rows", 24)
        with _http_errors():
            request = protocol.parse_create(body)
            session = self.manager.create(
                self.owner, cols=request.cols, rows=request.rows, name=request.name, cwd=request.cwd
            )
        self.set_status(201)
        self.finish(json.dumps(describe(session)))


class SessionHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions/{session_id}``: show, rename or close one session."""

    auth_resource = AUTH_RESOURCE

    def session(self, session_id: str) -> Any:
        try:
            return self.manager.get(self.owner, session_id)
        except SessionNotFound as exc:
            raise web.HTTPError(404, str(exc)) from exc

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        self.finish(json.dumps(describe(self.session(session_id))))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def patch(self, session_id: str) -> None:
        """Rename: ``{"name": str}``."""
        with _http_errors():
            request = protocol.parse_rename({**self.body(), "session_id": session_id})
            session = self.manager.rename(self.owner, session_id, request.name)
        self.finish(json.dumps(describe(session)))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def delete(self, session_id: str) -> None:
        await self.session(session_id).terminate()
        self.set_status(204)
        self.finish()


class InputHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions/{session_id}/input``: type ``{"data": str}``."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self, session_id: str) -> None:
        with _http_errors():
            request = protocol.parse_input({**self.body(), "session_id": session_id})
            session = self.manager.get(self.owner, session_id)
            session.write(request.data.encode("utf-8"))
        self.set_status(204)
        self.finish()


class CommandsHandler(SessionHandler):
    """``{base_url}webpty/api/sessions/{session_id}/commands``: the command log (marks)."""

    SUPPORTED_METHODS = ("GET",)  # not the session's PATCH and DELETE

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        session = self.session(session_id)
        reply: protocol.CommandLog = {
            "commands": [command_info(r) for r in session.commands()],
            "shell_integration": session.integrated,
            "has_prompted": session.has_prompted,
            "retained_from": session.end - session.retained_bytes,
            "end": session.end,
        }
        self.finish(json.dumps(reply))


class OutputHandler(SessionHandler):
    """``.../sessions/{session_id}/output?start=&end=[&raw=1]``: text of an output range.

    Escape sequences are removed unless ``raw`` is ``1`` or ``true``; ``truncated`` says when
    the range's beginning is no longer retained.
    """

    SUPPORTED_METHODS = ("GET",)  # not the session's PATCH and DELETE

    def offset(self, key: str, default: int) -> int:
        text = self.get_argument(key, "")
        if not text:
            return default
        # Bounded before int(): Python refuses over 4300 digits (FACTS.md).
        if len(text) > 19 or not text.isdigit():
            raise web.HTTPError(400, f"{key} must be a stream offset (a non-negative integer)")
        return int(text)

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        session = self.session(session_id)
        start = self.offset("start", 0)
        end = self.offset("end", session.end)
        keep = self.get_argument("raw", "") in ("1", "true")
        data, actual = session.read_output(start, max(start, end))
        reply: protocol.OutputText = {
            "text": command_text(data, keep_escapes=keep),
            "start": actual,
            "end": actual + len(data),
            "truncated": actual > start,
        }
        self.finish(json.dumps(reply))


def rest_handlers(manager: SessionManager, owner_policy: str) -> list[tuple[str, Any, Any]]:
    """Route table of the REST API, relative to the server's ``base_url``."""
    kwargs = {"manager": manager, "owner_policy": owner_policy}
    sid = r"(?P<session_id>[A-Za-z0-9_\-]{1,128})"
    return [
        (rf"/{protocol.API_PATH}/?", SessionsHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/?", SessionHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/input/?", InputHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/commands/?", CommandsHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/output/?", OutputHandler, kwargs),
    ]

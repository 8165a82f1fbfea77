"""The Socket.IO endpoint under Jupyter's auth: a tornado handler around Engine.IO's.

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
  queues frames without limit, so the query is checked before the upgrade, frames that would
  kill Engine.IO's reader or make python-socketio buffer attachments close the connection
  (``guards.py``), and the queues in and out of it are bounded.
* Nothing logged carries the request's query (``?token=``): see ``auth.ScrubbedLog``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import httputil, web
from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol

from . import fastpath, protocol
from .auth import Guarded, is_authorized, owner_of
from .guards import engineio_query_problem, frame_problem, packet_problem
from .mailbox import Mailbox

#: Frames received but not yet taken by Engine.IO's reader, per connection. When full, the
#: handler stops reading the socket (TCP pushes back on the client): at most this many
#: frames of up to ``protocol.MAX_MESSAGE_BYTES`` wait in memory.
MAX_QUEUED_FRAMES = 16
#: Output written but not yet taken by the kernel, per connection. Flow control keeps a
#: well-behaved client far below it (``flow_high_water`` per attached session); a client that
#: stops reading while asking for answers reaches it and its connection is dropped.
MAX_UNSENT_BYTES = 16 * 1024 * 1024


def socket_handler(
    sio: socketio.AsyncServer, owner_policy: str, *, whole_reads: bool = True
) -> type[web.RequestHandler]:
    """The tornado handler class for ``{base_url}webpty/socket.io/`` bound to ``sio``.

    ``whole_reads``: read frames with ``fastpath.WholeReads`` (``WebPtyApp.fast_path``).
    """
    engineio_handler: Any = socketio.get_tornado_handler(sio)

    class WebPtySocketHandler(
        Guarded,
        WebSocketMixin,
        JupyterHandler,
        engineio_handler,  # type: ignore[misc]
    ):
        """Engine.IO behind Jupyter's identity provider, Host/origin checks and authorizer."""

        webpty_owner: str | None = None
        _receiver: Callable[[str], bool] | None = None
        _refused = False
        _last_put: asyncio.Task[None] | None = None
        #: Engine.IO's socket once ``attach_engineio`` took the connection (fastpath.py).
        _engineio_socket: Any = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Engine.IO's own queue is unbounded; on_message waits while this one is full. A
            # Mailbox rather than an asyncio.Queue: ~3 KB less per idle connection.
            self.receive_queue: Mailbox[str | bytes | None] = Mailbox(MAX_QUEUED_FRAMES)

        def get_next_message(self) -> asyncio.Future[str | bytes | None]:
            # Engine.IO's reader awaits this; a Future rather than a coroutine keeps one frame
            # less alive per idle connection.
            return self.receive_queue.get()

        @property
        def max_message_size(self) -> int:
            return protocol.MAX_MESSAGE_BYTES

        @property
        def ping_interval(self) -> float:
            # No websocket-level pings: Engine.IO pings every connection (25 s) and closes it
            # when the pong stays away, so tornado's ping task and jupyter-server's ping
            # timer (WebSocketMixin) would only cost memory (~1.3 KB per connection).
            return 0

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
            socket, self._engineio_socket = self._engineio_socket, None
            if socket is not None:  # no reader task to tell: close Engine.IO's socket here
                sio.eio.start_background_task(fastpath.transport_closed, socket)
                return
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

        # -- fastpath.DirectWebSocket: Engine.IO's websocket without its tasks ---------------
        async def attach_engineio(self, socket: Any) -> None:
            """Take over Engine.IO's ``socket``: frames go to it from ``on_message``, and
            what it queues is written at once (``_write_packet``)."""
            # Frames a client sent before it was told its sid: in order, before any other.
            while not self.receive_queue.empty():
                message = self.receive_queue.get_nowait()
                if message is None:  # the websocket closed meanwhile
                    await fastpath.transport_closed(socket)
                    return
                if not await fastpath.receive(socket, message):
                    self.close()
                    return
            self._engineio_socket = socket
            socket.queue.attach(self._write_packet)
            if self.ws_connection is None:  # closed already: on_close found no socket
                self.on_close()

        def _write_packet(self, pkt: Any) -> None:
            if pkt is None:  # Engine.IO closes the connection
                self.close()
                return
            encoded = pkt.encode()
            try:
                self.write_message(encoded, binary=isinstance(encoded, bytes))
            except WebSocketClosedError:
                return
            if fastpath.is_close_packet(pkt):
                # Engine.IO closed the socket (a ping timeout, a server-side disconnect); its
                # writer would close the websocket once its queue wait timed out.
                self.close()

        # -- outbox.Wire: the fast path past Engine.IO's queues (fastpath.py) -----------------
        def set_receiver(self, receiver: Callable[[str], bool] | None) -> None:
            self._receiver = receiver

        def send_message(self, text: str, attachment: bytes | None) -> bool:
            try:
                return fastpath.write_frames(self, text, attachment)
            except (StreamClosedError, WebSocketClosedError):
                return False
            except StreamBufferFullError:
                self._drop()
                return False

        def on_message(self, message: str | bytes) -> Awaitable[None] | None:
            # A plain method, not a coroutine: tornado makes a task of a coroutine's result,
            # which runs a loop turn later, behind whatever is ready then (a flood's output);
            # a keystroke or an ack is handled here, at once (bench/README.md, "Two tries at
            # the keystroke's path"). Frames for Engine.IO get a coroutine, which tornado
            # awaits before it reads the next frame: packets are handled in arrival order,
            # whichever path each takes.
            if self._refused:
                return None
            problem = frame_problem(message)
            if problem is not None:
                self.refuse(problem, 1003 if isinstance(message, bytes) else 1008)
                return None
            assert isinstance(message, str)  # noqa: S101 (binary frames were refused above)
            receiver = self._receiver
            if message[0] == fastpath.ENGINEIO_MESSAGE:
                if receiver is not None and receiver(message[1:]):
                    return None
                problem = packet_problem(message[1:])
                if problem is not None:
                    self.refuse(problem)
                    return None
            return self._to_engineio(message)

        async def _to_engineio(self, message: str) -> None:
            """Hand a frame to Engine.IO (python-socketio's path)."""
            socket = self._engineio_socket
            if socket is not None:  # fastpath.DirectWebSocket: no reader task in between
                if not await fastpath.receive(socket, message):
                    self.close()
                return
            # Waits while the bounded queue is full: tornado reads no further frame meanwhile.
            await self.receive_queue.put(message)

        def get_websocket_protocol(self) -> WebSocketProtocol | None:
            protocol = super().get_websocket_protocol()
            return fastpath.whole_reads(protocol, self) if whole_reads else protocol

        def get_compression_options(self) -> dict[str, Any] | None:
            # Deflate costs more CPU than loopback and LAN links save; kernels don't use it either.
            return None

        @ws_authenticated
        async def get(self, *args: Any, **kwargs: Any) -> None:
            if not await is_authorized(self, "execute"):
                raise web.HTTPError(403)
            if self.request.headers.get("Upgrade", "").lower() != "websocket":
                raise web.HTTPError(400, "webpty accepts the websocket transport only")
            problem = engineio_query_problem(self.request.query)
            if problem is not None:
                raise web.HTTPError(400, problem)
            self.webpty_owner = owner_of(self, owner_policy)
            # Engine.IO's get is a coroutine function; awaiting it directly keeps no wrapper
            # coroutine alive for the connection's lifetime (ensure_async would).
            result = super().get(*args, **kwargs)
            if result is not None:
                await result

        @ws_authenticated
        async def post(self, *args: Any, **kwargs: Any) -> None:
            raise web.HTTPError(405, "webpty accepts the websocket transport only")

        @ws_authenticated
        async def options(self, *args: Any, **kwargs: Any) -> None:
            raise web.HTTPError(405, "webpty accepts the websocket transport only")

    return WebPtySocketHandler


def forget_handshake(handler: web.RequestHandler) -> None:
    """Drop what a websocket handler keeps of its HTTP handshake, at the Socket.IO connect.

    By then tornado has sent the 101 response, logged the request and detached the stream;
    nothing reads the response's headers and cookies or the request's parsed cookies again,
    yet the handler keeps them for the connection's lifetime: ~2-3 KB per connection (a
    token-authenticated request carries jupyter-server's login cookie in ``_new_cookie``; a
    browser's request, its cookies parsed by the identity provider in ``_cookies``). The
    request's headers stay: tornado's HTTP connection holds them too. The three private names
    are listed in fastpath.py and pinned by tests/test_fastpath_contract.py; a tornado without
    them loses nothing but the saving.
    """
    handler.request.__dict__.pop("_cookies", None)  # parsed Cookie header, made on first use
    handler.__dict__.pop("_new_cookie", None)  # cookies set by the response
    if isinstance(getattr(handler, "_headers", None), httputil.HTTPHeaders):
        handler._headers = httputil.HTTPHeaders()  # the response's headers


def wire(environ: dict[str, Any]) -> Any:
    """The socket handler itself: it implements ``outbox.Wire``."""
    return environ.get("tornado.handler")


def identify(environ: dict[str, Any]) -> str | None:
    """The owner key the socket handler stored on itself before Engine.IO ran.

    Called once, from the Socket.IO connect handler, the last reader of the request's headers
    in ``environ``: it also drops them (``forget_request``).
    """
    handler = environ.get("tornado.handler")
    forget_request(environ)
    return getattr(handler, "webpty_owner", None)


#: The keys of a connection's environ kept after its Socket.IO connect: the handler (``wire``,
#: ``identify``) and the request line, which are shared with tornado's request, not copies.
_ENVIRON_KEPT = ("tornado.handler", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SCRIPT_NAME")


def forget_request(environ: dict[str, Any]) -> None:
    """Keep only ``_ENVIRON_KEPT`` in the WSGI environ Engine.IO made for a connection.

    Engine.IO's tornado driver copies every request header into it (``HTTP_*`` keys), and
    python-socketio keeps it for the connection's lifetime: ~3-4 KB of a connection's memory,
    more with a browser's cookies. After the Socket.IO connect nobody reads it but through
    ``tornado.handler`` (Engine.IO reads the Upgrade headers before it starts the websocket;
    a websocket-only connection makes no further HTTP request). ``clear()`` frees the dict's
    table; deleting keys would not.
    """
    kept = {key: environ[key] for key in _ENVIRON_KEPT if key in environ}
    environ.clear()
    environ.update(kept)
    handler = kept.get("tornado.handler")
    if isinstance(handler, web.RequestHandler):
        forget_handshake(handler)

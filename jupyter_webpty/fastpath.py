"""The fast path: keystrokes and output past python-socketio's and tornado's queues.

Engine.IO passes every message through a queue and a task or two each way, and tornado's
``write_message`` wraps each write in a task of its own and copies the payload; for keystrokes
and output those loop turns were most of the server's share of an echo (bench/README.md, and
the A/B row of ``python -m bench.run --fast-path-ab``). ``WebPtyApp.fast_path = False`` turns all
of it off: every packet then takes python-socketio's public path (``sio.emit``, event handlers).

Every private detail of another library that the fast path relies on is used in this module
only, is listed here, and is pinned by ``tests/test_fastpath_contract.py`` against the
library's own behaviour (packets and frames compared byte for byte with what python-socketio
and tornado produce):

* **Socket.IO 5 packet text** (python-socketio ``socketio.packet.Packet``): an event without
  namespace or ack id is ``2["name",...]``; a binary event with one attachment is
  ``51-["name",{..."data":{"_placeholder":true,"num":0}}]`` followed by the bytes. We format
  the output packets by hand (``output_packet``, and ``output_text_packet`` for output sent as
  text, docs/protocol.md) because python-socketio's encoder walks the
  payload looking for bytes on every call, and read hot events (``hot_event``) before
  python-socketio decodes them.
* **Engine.IO 4 message type** ``"4"`` in front of a Socket.IO packet (python-engineio).
* **python-engineio's socket** (``sio.eio.sockets[eio_sid]``): ``.queue``, the queue of
  packets waiting for its writer task, and ``.closed``; python-socketio's
  ``sio.manager.eio_sid_from_sid`` to find it. A packet written directly must not overtake
  one still in that queue (``is_idle``). The queue is a ``mailbox.Mailbox``, made by
  ``AsyncServer.create_queue`` (``sioserver.py``; a public hook, but Engine.IO's use of the
  queue's methods is pinned too); its ``unfinished`` counts a packet until the writer has
  taken it and, with no suspension in between, written it. ``qsize()`` drops to 0 while the
  writer is still between ``get()`` and its write, so it cannot tell. Should another
  Engine.IO make its queues otherwise, ``is_idle`` reads ``asyncio.Queue._unfinished_tasks``
  (CPython) instead.
* **tornado's websocket protocol** ``WebSocketHandler.ws_connection`` (a ``WebSocketProtocol13``)
  with ``.stream``, its IOStream, and ``.is_closing()``: ``write_frames`` writes RFC 6455
  frames (unmasked, as a server's are; uncompressed, as the socket handler disables deflate)
  straight into the stream, both frames of a binary event in one ``send(2)``: on the stream's
  socket itself (``IOStream.socket``) while its buffer is empty (``writing()``), else through
  its ``write``. Without ``.stream`` it falls back to ``write_message``. Reading,
  ``WholeReads`` replaces ``WebSocketProtocol13._read_bytes``, through which
  ``_receive_frame`` reads each piece of a frame (and counts ``_wire_bytes_in``), and is
  built as ``get_websocket_protocol`` builds tornado's (``handler, False, params``).

* **Engine.IO's websocket driver** (``DirectWebSocket``, for memory per connection): the
  driver table ``AsyncServer._async`` (its ``"websocket"`` entry, made per connection with the
  socket's bound ``AsyncSocket._websocket_handler`` and awaited with the environ), the socket's
  ``connected``, ``upgraded``, ``closed``, ``sid``, ``queue``, ``receive`` and ``close``, the
  server's ``sockets``, ``max_http_buffer_size`` and ``reason`` (4.11 and later), and
  ``engineio.packet``/``engineio.exceptions``. ``WebPtyApp.fast_path = False`` keeps
  Engine.IO's own driver; so does anything this module does not recognise.

Not the fast path but private too, and also pinned by the contract test: the socket handler's
replacement of Engine.IO's tornado driver's ``receive_queue`` by a bounded ``Mailbox`` and of
its ``get_next_message`` (a Future, not a coroutine: Engine.IO's reader awaits it), and its
bound on ``ws_connection.stream.max_write_buffer_size`` (``sockethandler.py``,
docs/protocol.md, "Limits"), and ``TerminalServer``'s overrides of python-socketio's
``_handle_event`` and ``_engineio_server_class`` (``sioserver.py``). Relied on without a
private name, for memory per connection (bench/README.md, "Where a session's memory goes"):
``sockethandler.forget_handshake``, which replaces tornado's ``RequestHandler._headers`` (the
response's headers) by an empty ``HTTPHeaders`` and drops ``RequestHandler._new_cookie`` and
``HTTPServerRequest._cookies`` once the websocket is open; ``ping_interval`` 0 on the socket
handler turns off tornado's and jupyter-server's websocket
pings (Engine.IO's own pings remain), and ``sockethandler.forget_request`` empties the WSGI
environ of everything but the handler and the request line after the Socket.IO connect,
on the ground that neither library reads a websocket connection's headers from it later. The ptyprocess internals the core relies on are
listed in ``core/_spawn.py`` (the core imports no web code).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from engineio import exceptions as engineio_exceptions
from engineio import packet as engineio_packet
from tornado.iostream import IOStream
from tornado.websocket import WebSocketProtocol, WebSocketProtocol13

from . import protocol
from .mailbox import Mailbox
from .sioserver import BoundedJson

#: An Engine.IO 4 message packet, carrying one Socket.IO packet.
ENGINEIO_MESSAGE = "4"
#: A Socket.IO EVENT packet without namespace (the default "/") or ack id.
_EVENT_PREFIX = "2["
#: RFC 6455 opcodes.
TEXT, BINARY = 0x1, 0x2


def hot_event(text: str) -> tuple[str, list[Any]] | None:
    """The event name and arguments of a Socket.IO packet that the fast path may handle.

    Only a ``protocol.NO_ACK_EVENTS`` event without namespace or ack id qualifies; anything
    else (other events, calls, malformed JSON) gives None and goes through python-socketio,
    where the socket handler's guards see it.
    """
    if not text.startswith(_EVENT_PREFIX):
        return None
    try:
        data = BoundedJson.loads(text[1:])
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list) or not data:
        return None
    event = data[0]
    if not isinstance(event, str) or event not in protocol.NO_ACK_EVENTS:
        return None
    return event, data[1:]


def output_packet(session_id: str) -> tuple[str, str]:
    """The text of a ``terminal:output`` packet for ``session_id``, around its offset.

    ``head + str(offset) + tail`` is the packet python-socketio would encode for
    ``{"session_id": ..., "offset": ..., "data": <bytes>}`` (one attachment follows it).
    Formatted once per attach, not per chunk of output.
    """
    head = f'51-["{protocol.OUTPUT}",{{"session_id":{json.dumps(session_id)},"offset":'
    tail = ',"data":{"_placeholder":true,"num":0}}]'
    return head, tail


def engineio_socket(sio: Any, sid: str) -> Any:
    """python-engineio's socket under the Socket.IO connection ``sid``, or None."""
    return sio.eio.sockets.get(sio.manager.eio_sid_from_sid(sid, "/"))


def is_idle(socket: Any) -> bool:
    """True while nothing waits in Engine.IO's queue of ``socket`` (and it is open): a packet
    written straight to the websocket then overtakes nothing."""
    queue = socket.queue
    if isinstance(queue, Mailbox):  # ours (sioserver.py): its count is public
        return not socket.closed and not queue.unfinished
    return not socket.closed and not getattr(queue, "_unfinished_tasks", 1)


def output_text_packet(session_id: str) -> str:
    """The text of a ``terminal:output`` packet whose data is a string, up to its offset.

    ``head + str(offset) + ',"data":' + json.dumps(text) + "}]"`` is the packet python-socketio
    would encode for ``{"session_id": ..., "offset": ..., "data": <str>}`` (no attachment).
    """
    return f'2["{protocol.OUTPUT}",{{"session_id":{json.dumps(session_id)},"offset":'


def frames(text: bytes, attachment: bytes | None) -> bytes:
    """A text websocket frame and, if given, a binary one, in one buffer (RFC 6455 5.2)."""
    parts = [frame_head(TEXT, len(text)), text]
    if attachment is not None:
        parts += (frame_head(BINARY, len(attachment)), attachment)
    return b"".join(parts)


def frame_head(opcode: int, size: int) -> bytes:
    """The header of a final, unmasked frame of ``size`` bytes (7-, 16- or 64-bit length)."""
    if size < 126:  # RFC 6455 5.2: 7-bit length
        return bytes((0x80 | opcode, size))
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x80 | opcode, 126, size)
    return struct.pack("!BBQ", 0x80 | opcode, 127, size)


def write_frames(handler: Any, text: str, attachment: bytes | None) -> bool:
    """Write the Socket.IO packet ``text`` (and its attachment) to ``handler``'s websocket now.

    False when the websocket is closing. Errors of the stream (closed, buffer full) reach the
    caller, which knows what they mean for its connection.
    """
    connection = handler.ws_connection
    if connection is None or connection.is_closing():
        return False
    message = (ENGINEIO_MESSAGE + text).encode()
    stream = getattr(connection, "stream", None)
    if stream is not None:
        data = frames(message, attachment)
        if type(stream) is IOStream and not stream.writing() and not stream.closed():
            _send(stream, data)  # nothing waits in its buffer (TLS streams keep tornado's way)
        else:
            stream.write(data)  # behind what waits in its buffer, or raises if it closed
    else:  # a tornado without the stream attribute: the public, slower way
        handler.write_message(message)
        if attachment is not None:
            handler.write_message(attachment, binary=True)
    return True


def _send(stream: IOStream, data: bytes) -> None:
    """Send ``data`` on ``stream``'s socket now, its buffer being empty; the rest, if the kernel
    took only part, goes into the buffer through ``stream.write``, which then goes on as usual.

    Saves what tornado's ``write`` adds to each message: a ``Future`` per write, its callback
    (a loop turn later) and the buffer's bookkeeping; an idle echo came back 4-7 % sooner at
    the median (bench/README.md, "Sending past tornado's write"). An error other than a full
    socket is left to ``stream.write``, which meets it again and closes the stream, as always.
    """
    try:
        sent = stream.socket.send(data)
    except OSError:  # full (BlockingIOError), interrupted, or broken: tornado's write sees to it
        sent = 0
    if sent < len(data):
        stream.write(memoryview(data)[sent:] if sent else data)


# -- tornado's websocket protocol, reading what the socket has at once ---------------------
#: The most one read of a websocket takes beyond what the frame being parsed needs.
READ_SIZE = 65536


def whole_reads(protocol: WebSocketProtocol | None, handler: Any) -> WebSocketProtocol | None:
    """``WholeReads`` in place of ``protocol``, the one tornado made for ``handler``, if it is
    tornado's own ``WebSocketProtocol13``; else ``protocol``."""
    if type(protocol) is not WebSocketProtocol13:
        return protocol
    return WholeReads(handler, False, protocol.params)


class WholeReads(WebSocketProtocol13):
    """tornado's websocket protocol, reading the socket in whole reads.

    tornado's ``_receive_frame`` reads each frame in pieces (its header, the length, the mask,
    the payload), through ``_read_bytes``: ``IOStream.read_bytes`` for each, a Future each,
    and since the header's read completes with the rest of the frame still in the stream's
    buffer, the stream leaves epoll and comes back (two ``epoll_ctl``) at every frame. Here
    ``_read_bytes`` takes the pieces from what one read brought (``read_bytes(partial=True)``:
    whatever the socket has), so a keystroke's frame costs one Future and no ``epoll_ctl``;
    tornado's ``_receive_frame`` still parses and checks every frame, unchanged.
    """

    _unread = b""  # bytes read, the frames' pieces not yet taken from ``_taken`` on
    _taken = 0

    async def _read_bytes(self, n: int) -> bytes:
        start, end = self._taken, self._taken + n
        if end > len(self._unread):
            have = self._unread[start:]
            parts, size = [have], len(have)
            while size < n:
                chunk = await self.stream.read_bytes(max(n - size, READ_SIZE), partial=True)
                parts.append(chunk)
                size += len(chunk)
            self._unread, start, end = b"".join(parts), 0, n
        data = self._unread[start:end]
        if end == len(self._unread):  # all taken: an idle connection keeps no bytes
            self._unread, self._taken = b"", 0
        else:
            self._taken = end
        self._wire_bytes_in += n
        return data


# -- Engine.IO's websocket transport without its per-connection tasks ------------------------
class DirectWebSocket:
    """Engine.IO's websocket driver (``AsyncServer._async["websocket"]``) without the tasks.

    Engine.IO's own driver keeps, for a connection's whole life, the task that accepted it
    parked six coroutines deep, a writer task waiting on the socket's queue and a reader task
    waiting for the next frame, each under an ``asyncio.wait_for``: ~5 KB per connection
    (``python -m bench.memory``). Here the connection is handed to the socket handler instead
    (``attach_engineio``), which passes each frame to the Engine.IO socket's ``receive`` from
    tornado's own ``on_message`` and writes each packet the socket queues as it is queued
    (``Mailbox.attach``); the accepting task then ends. Anything else (an upgrade from polling,
    a handler without ``attach_engineio``, a queue that is not a Mailbox) takes Engine.IO's
    own driver, which ``use_direct_websocket`` keeps as ``engineio_websocket``.
    """

    def __init__(self, handler: Any, server: Any) -> None:
        self._handler = handler  # AsyncSocket._websocket_handler, bound to its socket
        self._server = server

    async def __call__(self, environ: dict[str, Any]) -> None:
        socket = getattr(self._handler, "__self__", None)
        tornado_handler = environ.get("tornado.handler")
        attach = getattr(tornado_handler, "attach_engineio", None)
        if (
            socket is None
            or socket.connected
            or attach is None
            or not isinstance(getattr(socket, "queue", None), Mailbox)
        ):
            fallback = self._server.engineio_websocket(self._handler, self._server)
            await fallback(environ)
            return
        # What Engine.IO's _websocket_handler does first for a new websocket connection.
        socket.connected = socket.upgraded = True
        await attach(socket)


def use_direct_websocket(eio: Any) -> None:
    """Make ``eio`` (an Engine.IO AsyncServer) serve websockets through ``DirectWebSocket``.

    Its driver table is the driver module's, shared: ``eio`` gets a copy of its own.
    """
    table = getattr(eio, "_async", None)
    if not isinstance(table, dict) or "websocket" not in table:
        return
    eio.engineio_websocket = table["websocket"]
    eio._async = {**table, "websocket": DirectWebSocket}


async def receive(socket: Any, message: str | bytes) -> bool:
    """Hand one websocket frame to Engine.IO's ``socket`` as its reader task would; False when
    the connection should close (a frame over the size limit, a closed socket)."""
    if len(message) > socket.server.max_http_buffer_size:
        return False
    try:
        pkt = engineio_packet.Packet(encoded_packet=message)
        await socket.receive(pkt)
    except engineio_exceptions.UnknownPacketError:
        pass
    except engineio_exceptions.SocketIsClosedError:
        return False
    except Exception:
        # As Engine.IO's reader: log and read on (guards.py refuses what would make it raise).
        socket.server.logger.exception("Unknown receive error")
    return True


def is_close_packet(pkt: Any) -> bool:
    """Whether ``pkt``, a packet Engine.IO queued, tells the client to close."""
    return bool(getattr(pkt, "packet_type", None) == engineio_packet.CLOSE)


async def transport_closed(socket: Any) -> None:
    """The websocket under Engine.IO's ``socket`` closed: what Engine.IO's reader does then
    (close the socket, so the disconnect handlers run) and what its accepting task did after
    (forget the socket)."""
    server = socket.server
    reason = getattr(getattr(server, "reason", None), "TRANSPORT_CLOSE", None)
    if reason is None:  # python-engineio < 4.11: no reasons
        await socket.close(wait=False, abort=True)
    else:
        await socket.close(wait=False, abort=True, reason=reason)
    if socket.closed and server.sockets.get(socket.sid) is socket:
        del server.sockets[socket.sid]

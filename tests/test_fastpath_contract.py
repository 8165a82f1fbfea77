"""Contract tests for the fast path (jupyter_webpty/fastpath.py): what we write by hand equals,
byte for byte, what python-socketio and tornado produce for the same events, and each private
attribute the module's docstring lists still exists and behaves as assumed. When a library
update breaks one of these, fix fastpath.py or run with ``WebPtyApp.fast_path = False``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import os
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import engineio
import engineio.async_drivers.tornado
import engineio.async_server
import engineio.async_socket
import engineio.base_socket
import engineio.packet
import pytest
import socketio
from socketio import packet
from tornado import httpserver, httputil, web, websocket
from tornado.iostream import BaseIOStream, IOStream

from jupyter_webpty import fastpath, protocol, sockethandler
from jupyter_webpty.mailbox import Mailbox
from jupyter_webpty.sioserver import TerminalServer

from .conftest import wait_until, webpty_app

SESSION_IDS = ["abc", "Zm9v-YmFy_0123456789abcdef", 'quote"back\\slash', "caf\u00e9"]
#: Payload sizes around RFC 6455's length encodings: 7 bits, 16 bits, 64 bits.
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


# -- Socket.IO packets -----------------------------------------------------------------------
@pytest.mark.parametrize("session_id", SESSION_IDS)
@pytest.mark.parametrize("offset", [0, 7, 125, 65536, 2**53])
def test_output_packet_is_python_socketios_encoding(session_id: str, offset: int) -> None:
    data = os.urandom(33)
    payload = {"session_id": session_id, "offset": offset, "data": data}
    encoded = socketio.packet.Packet(
        packet.EVENT, namespace="/", data=[protocol.OUTPUT, payload]
    ).encode()
    head, tail = fastpath.output_packet(session_id)
    assert encoded == [f"{head}{offset}{tail}", data]


def test_output_packet_decodes_to_the_payload() -> None:
    head, tail = fastpath.output_packet("s1")
    decoded = socketio.packet.Packet(encoded_packet=f"{head}42{tail}")
    assert decoded.packet_type == packet.BINARY_EVENT
    assert decoded.attachment_count == 1
    assert decoded.add_attachment(b"xyz")  # the one attachment completes it
    assert decoded.data == [protocol.OUTPUT, {"session_id": "s1", "offset": 42, "data": b"xyz"}]


@pytest.mark.parametrize("session_id", SESSION_IDS)
@pytest.mark.parametrize("text", ["x", "h\u00e9\u4e2d\U0001f600\r\n", '\x1b[?25h"\\\x00\x7f'])
def test_output_text_packet_is_python_socketios_encoding(session_id: str, text: str) -> None:
    payload = {"session_id": session_id, "offset": 65536, "data": text}
    encoded = socketio.packet.Packet(
        packet.EVENT, namespace="/", data=[protocol.OUTPUT, payload]
    ).encode()
    head = fastpath.output_text_packet(session_id)
    assert encoded == f'{head}65536,"data":{json.dumps(text)}}}]'


HOT_PAYLOADS: list[tuple[str, Any]] = [
    (protocol.INPUT, {"session_id": "s", "data": "ls -l\r"}),
    (protocol.INPUT, {"session_id": "s", "data": '\u00e9\u4e2d\U0001f600\x1b[A"\\'}),
    (protocol.RESIZE, {"session_id": "s", "cols": 132, "rows": 43}),
    (protocol.ACK, {"session_id": "s", "offset": 10**12}),
    (protocol.INPUT, None),
]


@pytest.mark.parametrize(("event", "payload"), HOT_PAYLOADS)
def test_hot_event_reads_what_python_socketio_reads(event: str, payload: Any) -> None:
    args = [event] if payload is None else [event, payload]
    text = socketio.packet.Packet(packet.EVENT, namespace="/", data=args).encode()
    assert isinstance(text, str)
    found = fastpath.hot_event(text)
    assert found is not None
    decoded = socketio.packet.Packet(encoded_packet=text)
    assert [found[0], *found[1]] == decoded.data


@pytest.mark.parametrize(
    "make",
    [
        # Calls (an ack id), other namespaces, binary events and other events: python-socketio's.
        lambda: packet.Packet(packet.EVENT, namespace="/", data=[protocol.INPUT, {}], id=5),
        lambda: packet.Packet(packet.EVENT, namespace="/x", data=[protocol.INPUT, {}]),
        lambda: packet.Packet(packet.EVENT, namespace="/", data=[protocol.LIST, {}]),
        lambda: packet.Packet(packet.EVENT, namespace="/", data=["terminal:inputs", {}]),
        lambda: packet.Packet(packet.CONNECT, namespace="/"),
    ],
)
def test_hot_event_leaves_other_packets_to_python_socketio(make: Any) -> None:
    text = make().encode()
    assert isinstance(text, str)
    assert fastpath.hot_event(text) is None


@pytest.mark.parametrize("text", ["2[", "2{}", "2[]", "2[1]", '2["terminal:input"', "2[" * 3000])
def test_hot_event_leaves_malformed_packets_to_the_guards(text: str) -> None:
    assert fastpath.hot_event(text) is None


def test_engineio_message_type() -> None:
    encoded = engineio.packet.Packet(engineio.packet.MESSAGE, data="2[]").encode()
    assert encoded == fastpath.ENGINEIO_MESSAGE + "2[]"


# -- RFC 6455 frames, against tornado's own ----------------------------------------------------
class _Recorder(websocket.WebSocketHandler):
    """Writes one text and one binary message on open, by tornado's write_message or ours."""

    def initialize(self, ours: bool, text: bytes, attachment: bytes, done: asyncio.Event) -> None:
        self.ours, self.text, self.attachment, self.done = ours, text, attachment, done

    def get_compression_options(self) -> None:  # as the socket handler's
        return None

    async def open(self, *args: Any, **kwargs: Any) -> None:
        if self.ours:
            # write_frames adds the Engine.IO type; the recorder strips it back off below.
            assert fastpath.write_frames(self, self.text.decode()[1:], self.attachment)
        else:
            await self.write_message(self.text)
            await self.write_message(self.attachment, binary=True)
        self.done.set()


class _Burst(websocket.WebSocketHandler):
    """Writes ``count`` binary events by ``write_frames`` at once, on a socket with a small send
    buffer: the kernel takes part of the first, tornado's buffer the rest (``buffered``)."""

    buffered = False  # set once a write found tornado's buffer holding bytes

    def initialize(self, count: int, attachment: bytes, done: asyncio.Event) -> None:
        self.count, self.attachment, self.done = count, attachment, done

    def get_compression_options(self) -> None:
        return None

    def open(self, *args: Any, **kwargs: Any) -> None:
        assert self.ws_connection is not None
        stream = self.ws_connection.stream
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for index in range(self.count):
            _Burst.buffered = _Burst.buffered or stream.writing()
            assert fastpath.write_frames(self, f"2[{index}]", self.attachment)
        self.done.set()


async def _raw_frames(ours: bool, text: bytes, attachment: bytes) -> bytes:
    """The bytes a tornado websocket server sends after the handshake, as read off TCP."""
    done = asyncio.Event()
    args = {"ours": ours, "text": text, "attachment": attachment, "done": done}
    return await _read_off_tcp(_Recorder, args, len(fastpath.frames(text, attachment)))


@contextlib.asynccontextmanager
async def _websocket_to(
    handler: type, args: dict[str, Any]
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw TCP connection to a tornado server of ``handler``, past the websocket handshake."""
    server = httpserver.HTTPServer(web.Application([("/ws", handler, args)]))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    server.add_sockets([listener])
    port = listener.getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                (
                    f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            await reader.readuntil(b"\r\n\r\n")
            yield reader, writer
        finally:
            writer.close()
    finally:
        server.stop()


async def _read_off_tcp(handler: type, args: dict[str, Any], expected: int) -> bytes:
    """The first ``expected`` bytes ``handler`` sends after the handshake, as read off TCP."""
    async with _websocket_to(handler, args) as (reader, _):
        received = await asyncio.wait_for(reader.readexactly(expected), 10)
        await asyncio.wait_for(args["done"].wait(), 10)
    return received


@pytest.mark.parametrize("size", SIZES)
async def test_frames_equal_tornados_write_message(size: int) -> None:
    text = (fastpath.ENGINEIO_MESSAGE + "x" * size).encode()
    attachment = os.urandom(size + 3)
    tornados = await _raw_frames(False, text, attachment)
    assert tornados == fastpath.frames(text, attachment)
    # And written through ws_connection.stream, as the socket handler does: the same bytes.
    assert await _raw_frames(True, text, attachment) == tornados


async def test_frames_written_past_tornados_write_keep_their_order() -> None:
    # The first event goes to the socket itself, and the kernel takes only part of it; the
    # rest and every later event wait in tornado's buffer: all arrive, whole and in order.
    attachment = os.urandom(65536)
    count = 20
    args = {"count": count, "attachment": attachment, "done": asyncio.Event()}
    expected = b"".join(
        fastpath.frames(f"{fastpath.ENGINEIO_MESSAGE}2[{index}]".encode(), attachment)
        for index in range(count)
    )
    _Burst.buffered = False
    assert await _read_off_tcp(_Burst, args, len(expected)) == expected
    assert _Burst.buffered  # the buffered way was taken too


def test_tornado_stream_we_send_on_directly() -> None:
    # write_frames sends on IOStream.socket while IOStream.writing() says its buffer is empty.
    assert "return bool(self._write_buffer)" in inspect.getsource(BaseIOStream.writing)
    assert "self.socket.send(" in inspect.getsource(IOStream.write_to_fd)
    assert callable(BaseIOStream.closed)


def test_frame_head_lengths() -> None:
    assert fastpath.frame_head(fastpath.TEXT, 125) == b"\x81\x7d"
    assert fastpath.frame_head(fastpath.BINARY, 126) == b"\x82\x7e\x00\x7e"
    assert fastpath.frame_head(fastpath.BINARY, 65536) == b"\x82\x7f" + (65536).to_bytes(8, "big")


def test_tornado_protocol_has_the_stream_we_write_to() -> None:
    # ws_connection is a WebSocketProtocol13 whose stream we write to and bound (sockethandler).
    source = inspect.getsource(websocket.WebSocketProtocol13)
    assert "self.stream" in source
    assert callable(websocket.WebSocketProtocol13.is_closing)
    # The bound the socket handler sets on it is checked by every write.
    assert "max_write_buffer_size" in inspect.signature(BaseIOStream.__init__).parameters
    assert "self.max_write_buffer_size" in inspect.getsource(BaseIOStream.write)
    assert issubclass(IOStream, BaseIOStream)


# -- Reading frames: fastpath.WholeReads against tornado's own protocol ----------------------
class _Listener(websocket.WebSocketHandler):
    """Records what tornado hands the handler: messages, pings, the close code."""

    def initialize(self, whole: bool, events: list[Any], closed: asyncio.Event) -> None:
        self.whole, self.events, self.closed = whole, events, closed

    def get_compression_options(self) -> None:
        return None

    @property
    def max_message_size(self) -> int:
        return 2 * 1024 * 1024

    def get_websocket_protocol(self) -> Any:
        protocol = super().get_websocket_protocol()
        if self.whole:
            protocol = fastpath.whole_reads(protocol, self)
            assert type(protocol) is fastpath.WholeReads
        return protocol

    def on_message(self, message: str | bytes) -> None:
        self.events.append(("message", message))

    def on_ping(self, data: bytes) -> None:
        self.events.append(("ping", data))

    def on_close(self) -> None:
        self.events.append(("close", self.close_code, self.close_reason))
        self.closed.set()


def _client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """A client's frame (masked, RFC 6455 5.3)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 65536:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | rsv | opcode]) + length + mask + masked


_CLOSE = _client_frame(0x8, (1000).to_bytes(2, "big") + b"bye")
_MESSAGES = [
    _client_frame(0x1, text.encode())
    for text in ["", "x", "\u00e9\u2713" * 40, "y" * 125, "z" * 126, "w" * 65535, "v" * 65536]
] + [_client_frame(0x2, os.urandom(size)) for size in (1, 127, 70000)]
_FRAGMENTED = [
    _client_frame(0x1, b"one ", fin=False),
    _client_frame(0x9, b"ping between"),
    _client_frame(0x0, b"two ", fin=False),
    _client_frame(0x0, b"three"),
]
#: Byte streams a client may send, each ending in a close frame (or made to be refused).
_STREAMS = {
    "one write": [b"".join(_MESSAGES) + _CLOSE],
    "a byte per write": [bytes([b]) for b in b"".join(_MESSAGES[:4] + _FRAGMENTED) + _CLOSE],
    "frame per write": [*_MESSAGES, *_FRAGMENTED, _CLOSE],
    "a message of a megabyte": [_client_frame(0x2, os.urandom(1024 * 1024)) + _CLOSE],
    "too big": [_MESSAGES[1], _client_frame(0x2, bytes(2 * 1024 * 1024 + 1)), _CLOSE],
    "reserved bits": [_MESSAGES[1], _client_frame(0x1, b"ext", rsv=0x40), _CLOSE],
    "continuation of nothing": [_client_frame(0x0, b"stray"), _CLOSE],
    "bad utf-8": [_client_frame(0x1, b"\xff\xfe"), _CLOSE],
}

_ENDS_IN_A_CLOSE_FRAME = {
    "one write",
    "a byte per write",
    "frame per write",
    "a message of a megabyte",
}


async def _listen(whole: bool, writes: list[bytes]) -> tuple[list[Any], bytes | None]:
    """What the handler saw of ``writes``, and what the server sent back until it closed
    (None when it reset the connection)."""
    events: list[Any] = []
    closed = asyncio.Event()
    args = {"whole": whole, "events": events, "closed": closed}
    async with _websocket_to(_Listener, args) as (reader, writer):
        with contextlib.suppress(ConnectionError):
            for data in writes:
                writer.write(data)
                await writer.drain()
        try:
            sent_back: bytes | None = await asyncio.wait_for(reader.read(), 10)  # to its close
        except ConnectionResetError:  # it aborted with bytes of ours unread: no telling what came
            sent_back = None
        await asyncio.wait_for(closed.wait(), 10)
    return events, sent_back


@pytest.mark.parametrize("stream", list(_STREAMS))
async def test_whole_reads_hand_the_handler_what_tornado_does(stream: str) -> None:
    writes = _STREAMS[stream]
    tornados, tornados_reply = await _listen(False, writes)
    ours, our_reply = await _listen(True, writes)
    assert ours == tornados
    assert tornados[-1][0] == "close"  # each stream ends the connection
    if stream in _ENDS_IN_A_CLOSE_FRAME:  # a clean close: the same pongs and close frame back
        assert our_reply is not None
        assert our_reply == tornados_reply
    elif tornados_reply is not None and our_reply is not None:  # neither reset the connection
        assert our_reply == tornados_reply


def test_tornado_reads_frames_through_read_bytes() -> None:
    # WholeReads replaces _read_bytes, through which _receive_frame reads every piece.
    protocol = websocket.WebSocketProtocol13
    assert "await self._read_bytes(" in inspect.getsource(protocol._receive_frame)
    assert "self.stream.read_bytes(" not in inspect.getsource(protocol._receive_frame)
    reading = inspect.getsource(protocol._read_bytes)
    assert "await self.stream.read_bytes(n)" in reading
    assert "self._wire_bytes_in += n" in reading
    # The socket handler builds WholeReads from what tornado would have used.
    made = inspect.getsource(websocket.WebSocketHandler.get_websocket_protocol)
    assert "WebSocketProtocol13(self, False, params)" in made
    assert "self.params = params" in inspect.getsource(protocol.__init__)


# -- python-engineio's queue and python-socketio's internals ---------------------------------
def test_asyncio_queue_counts_a_packet_until_task_done() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    assert queue._unfinished_tasks == 0
    queue.put_nowait(1)
    assert queue._unfinished_tasks == 1
    queue.get_nowait()
    assert queue.qsize() == 0
    assert queue._unfinished_tasks == 1  # taken but not yet written: qsize() cannot tell
    queue.task_done()
    assert queue._unfinished_tasks == 0


def test_engineio_writer_calls_task_done_before_writing_without_suspending() -> None:
    # AsyncSocket.poll takes every queued packet and calls task_done() for each; the writer then
    # writes them (tornado's write_message puts the bytes in the stream before it suspends).
    source = inspect.getsource(engineio.async_socket.AsyncSocket.poll)
    assert "self.queue.get()" in source
    assert source.count("self.queue.task_done()") == 2


def test_python_socketio_private_methods_we_override_or_call() -> None:
    for name in ("_handle_event", "_send_packet", "_engineio_server_class"):
        assert callable(getattr(socketio.AsyncServer, name))
    params = list(inspect.signature(socketio.AsyncServer._handle_event).parameters)
    assert params == ["self", "eio_sid", "namespace", "id", "data"]
    assert callable(socketio.AsyncManager.eio_sid_from_sid)
    # Engine.IO's tornado driver keeps its unbounded receive_queue, which the socket handler
    # replaces with a bounded one.
    handler = socketio.get_tornado_handler(TerminalServer(async_mode="tornado"))
    assert "self.receive_queue" in inspect.getsource(handler)


def test_tornado_handshake_state_we_forget() -> None:
    # sockethandler.forget_handshake: where tornado keeps the response's headers and cookies
    # and the request's parsed cookies (each rebuilt or unused after the handshake).
    assert "self._headers = httputil.HTTPHeaders(" in inspect.getsource(web.RequestHandler.clear)
    assert "self._new_cookie" in inspect.getsource(web.RequestHandler.set_cookie)
    assert "self._cookies" in inspect.getsource(httputil.HTTPServerRequest.cookies.fget)
    # and opens the websocket only after the 101 response is finished and the stream detached.
    accept = inspect.getsource(websocket.WebSocketProtocol13._accept_connection)
    assert accept.index("handler.finish()") < accept.index("handler.open(")
    assert accept.index("_detach_stream()") < accept.index("handler.open(")


def _queue_methods(source: str, name: str) -> set[str]:
    return set(re.findall(rf"self\.{name}\.(\w+)\(", source))


def test_engineio_uses_only_what_a_mailbox_offers() -> None:
    # Engine.IO makes each socket's queue with the server's create_queue (sioserver.py returns a
    # Mailbox) and calls these methods on it; its tornado driver reads frames through
    # get_next_message, which the socket handler answers from its own Mailbox.
    assert "self.server.create_queue()" in inspect.getsource(engineio.base_socket.BaseSocket)
    used = _queue_methods(inspect.getsource(engineio.async_socket), "queue")
    assert used >= {"get", "put", "task_done"}
    assert all(callable(getattr(Mailbox, method)) for method in used)
    driver = inspect.getsource(engineio.async_drivers.tornado)
    assert "await self.tornado_handler.get_next_message()" in driver
    used = _queue_methods(driver, "receive_queue")
    assert all(callable(getattr(Mailbox, method)) for method in used)
    # tornado and jupyter-server start their websocket pings only for a ping_interval > 0.
    pinging = inspect.getsource(websocket.WebSocketProtocol13.start_pinging)
    assert "self.ping_interval > 0" in pinging


async def test_engineio_socket_of_a_live_connection(
    connect: Any, jp_serverapp: Any, fast_path: bool
) -> None:
    app = webpty_app(jp_serverapp)
    sio = app.sio
    async with connect() as client:
        await client.create()
        sid = next(iter(app.events._connections._owners))
        live = fastpath.engineio_socket(sio, sid)
        assert isinstance(live, engineio.async_socket.AsyncSocket)
        assert isinstance(live.queue, Mailbox)  # sioserver's create_queue
        environ = sio.get_environ(sid)
        assert set(environ) == {
            "tornado.handler",
            "REQUEST_METHOD",
            "PATH_INFO",
            "QUERY_STRING",
            "SCRIPT_NAME",
        }  # the request's headers are forgotten
        handler = sockethandler.wire(environ)
        assert isinstance(handler.receive_queue, Mailbox)
        assert handler.ws_connection.ping_interval == 0  # no websocket-level pings
        # The handshake is forgotten (sockethandler.forget_handshake).
        assert not handler._headers
        assert "_new_cookie" not in handler.__dict__
        assert "_cookies" not in handler.request.__dict__
        assert live.closed is False
        await wait_until(lambda: fastpath.is_idle(live), what="idle queue")
        await live.send(engineio.packet.Packet(engineio.packet.NOOP))
        if fast_path:
            # fastpath.DirectWebSocket: the handler owns Engine.IO's socket and writes what it
            # queues at once, so nothing ever waits in the queue.
            assert handler._engineio_socket is live
            assert fastpath.is_idle(live)
            assert not _engineio_connection_tasks()
        else:
            # A packet in Engine.IO's queue: direct writes must wait until its writer took it.
            # (Engine.IO's send puts without suspending; its writer runs after this test yields.)
            assert handler._engineio_socket is None
            assert not fastpath.is_idle(live)
            await wait_until(lambda: fastpath.is_idle(live), what="writer took the packet")
            assert _engineio_connection_tasks()
        # With the fast path off, no connection gets a wire; on, each does.
        assert bool(app.events._outbox._wires) is fast_path


def _engineio_connection_tasks() -> list[asyncio.Task[Any]]:
    """Tasks that Engine.IO's own websocket driver keeps per connection (accept, reader, writer)."""
    names = {"handle_request", "websocket_wait", "writer"}
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.split(".")[-1] in names]


async def test_direct_websocket_closes_like_engineio(
    connect: Any, jp_serverapp: Any, fast_path: bool
) -> None:
    """A client's disconnect runs the disconnect handlers and forgets Engine.IO's socket; a
    server-side disconnect closes the client's websocket."""
    app = webpty_app(jp_serverapp)
    sio = app.sio
    async with connect() as client:
        await client.create()
        sid = next(iter(app.events._connections._owners))
        live = fastpath.engineio_socket(sio, sid)
    await wait_until(lambda: live.closed and live.sid not in sio.eio.sockets, what="forgotten")
    await wait_until(lambda: sid not in app.events._connections._owners, what="disconnected")
    async with connect() as client:
        await client.create()
        sid = next(iter(app.events._connections._owners))
        await sio.disconnect(sid)
        await wait_until(lambda: not client.sio.connected, what="client told to go")


def test_engineio_websocket_driver_contract() -> None:
    # fastpath.DirectWebSocket replaces the driver table's "websocket" entry: Engine.IO makes
    # one per connection with the socket's bound _websocket_handler and awaits it with the
    # environ; what that handler does first for a new connection, the direct one does too.
    upgrade = inspect.getsource(engineio.async_socket.AsyncSocket._upgrade_websocket)
    assert "self.server._async['websocket'](" in upgrade
    assert "self._websocket_handler, self.server)" in upgrade
    assert "await ws(environ)" in upgrade
    handler = inspect.getsource(engineio.async_socket.AsyncSocket._websocket_handler)
    assert "self.connected = True" in handler
    assert "self.upgraded = True" in handler
    assert "pkt = packet.Packet(encoded_packet=p)" in handler
    assert "await self.receive(pkt)" in handler
    assert "await self.close(wait=False, abort=True" in handler
    assert "len(data) > self.server.max_http_buffer_size" in handler
    # and the accepting task forgets a closed socket (fastpath.transport_closed does it here).
    connect = inspect.getsource(engineio.async_server.AsyncServer._handle_connect)
    assert "del self.sockets[sid]" in connect
    eio = TerminalServer(async_mode="tornado").eio
    original = eio._async["websocket"]
    fastpath.use_direct_websocket(eio)
    assert eio._async["websocket"] is fastpath.DirectWebSocket
    assert eio.engineio_websocket is original
    # The driver module's own table is left alone (it is shared by every server).
    assert engineio.async_drivers.tornado._async["websocket"] is original


@pytest.fixture(params=[True, False], ids=["fast", "plain"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


# -- ptyprocess (core/_spawn.py) -----------------------------------------------------------------
def test_ptyprocess_details_spawn_relies_on() -> None:
    from ptyprocess import PtyProcess  # noqa: PLC0415 (only this test needs it)

    process = PtyProcess.spawn(["true"], dimensions=(24, 80))
    assert isinstance(process.fd, int)
    assert process.closed is False
    process.fileobj.close()  # closes .fd itself
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(process.fd)
    process.closed = True
    os.waitpid(process.pid, 0)
    # __del__ and close() do nothing once .closed is set: spawn() sets it by hand.
    assert "if not self.closed" in inspect.getsource(PtyProcess.__del__)
    assert "if not self.closed" in inspect.getsource(PtyProcess.close)

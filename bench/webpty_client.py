"""A jupyter-webpty client, as docs/protocol.md describes it, and a client that stops reading its
socket (for the memory-bound check).

Both speak Socket.IO by hand over an aiohttp websocket: the built-in terminal's client is a plain
aiohttp websocket too, so the two targets are measured through the same client stack.
python-socketio's own AsyncClient was used before; its queues and per-message tasks added about
0.2 ms to every echo, on the client's side, which is not the server's cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from .stream import Output

if TYPE_CHECKING:
    from .server import JupyterServer

COLS, ROWS = 80, 24
#: Acknowledge processed output at least this often (the protocol asks for <= 64 KiB).
ACK_EVERY = 64 * 1024
SOCKETIO_PATH = "webpty/socket.io"
#: Ask for output as text (docs/protocol.md, "Output as text"), as the JupyterLab extension
#: does, with ``BENCH_WEBPTY_TEXT=1``. It saves a browser a task per echo; this client it saves
#: nothing idle, and beside a flood it costs the client the JSON of every flood chunk
#: (bench/README.md, "Output as text, from the Python client"), so it asks for bytes.
AS_TEXT = os.environ.get("BENCH_WEBPTY_TEXT", "0") == "1"


class _Stream:
    """Delivery state of one session on one connection."""

    __slots__ = ("acked", "offset", "output")

    def __init__(self, output: Output, offset: int = 0) -> None:
        self.output = output
        self.offset = offset
        self.acked = offset


class WebptySession:
    """One webpty session seen through one connection."""

    def __init__(self, connection: WebptyConnection, session_id: str, output: Output, owns: bool):
        self.connection = connection
        self.session_id = session_id
        self.key = session_id
        self.output = output
        self.owns_connection = owns
        self.create_seconds = 0.0

    async def send(self, text: str) -> None:
        await self.connection.sio.emit(
            "terminal:input", {"session_id": self.session_id, "data": text}
        )

    async def close(self) -> None:
        await self.connection.sio.call(
            "terminal:close", {"session_id": self.session_id}, timeout=30
        )
        if self.owns_connection:
            await self.connection.close()


class WebptyConnection:
    """One Socket.IO connection, possibly carrying several sessions."""

    def __init__(self, url: str, headers: dict[str, str], *, text: bool = AS_TEXT) -> None:
        self.url = url
        self.headers = headers
        self.text = text
        self.sio = LeanSocketIO()
        self.streams: dict[str, _Stream] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self.sio.on("terminal:output", self._on_output)

    async def connect(self) -> None:
        """Open the websocket (the only transport webpty accepts)."""
        port = _origin(self.url).rsplit(":", 1)[1]
        await self.sio.connect(f"ws://127.0.0.1:{port}{_path(self.url)}/", self.headers)

    async def _on_output(self, payload: dict[str, Any]) -> None:
        session_id = payload["session_id"]
        stream = self.streams.get(session_id)
        if stream is None:  # output raced ahead of the reply that names the session
            self._early.setdefault(session_id, []).append(payload)
            return
        if payload.get("truncated"):
            stream.offset = stream.acked = payload["offset"]
            return
        stream.offset = payload["offset"]
        stream.output.feed(_bytes(payload["data"]))
        if stream.offset - stream.acked >= ACK_EVERY:
            stream.acked = stream.offset
            await self.sio.emit("terminal:ack", {"session_id": session_id, "offset": stream.offset})

    def _register(self, session_id: str, output: Output, offset: int) -> None:
        self.streams[session_id] = _Stream(output, offset)
        for payload in self._early.pop(session_id, []):
            stream = self.streams[session_id]
            if payload["offset"] > stream.offset:
                stream.offset = payload["offset"]
                output.feed(_bytes(payload["data"]))

    async def create(self, prompt: bytes, *, owns_connection: bool) -> WebptySession:
        """``terminal:create``; returns once the first prompt arrived."""
        output = Output()
        first_prompt = output.expect(prompt)
        t0 = time.perf_counter()
        request = {"cols": COLS, "rows": ROWS, "text": self.text}
        reply = await self.sio.call("terminal:create", request, timeout=30)
        if not reply.get("success"):
            msg = f"terminal:create failed: {reply}"
            raise RuntimeError(msg)
        self._register(reply["session_id"], output, 0)
        session = WebptySession(self, reply["session_id"], output, owns_connection)
        session.create_seconds = await first_prompt.wait(30) - t0
        return session

    async def reattach(self, session_id: str) -> tuple[float, int]:
        """``terminal:reconnect`` without offset: (seconds until the replay arrived, bytes)."""
        output = Output()
        t0 = time.perf_counter()
        request = {"session_id": session_id, "text": self.text}
        reply = await self.sio.call("terminal:reconnect", request, timeout=30)
        if not reply.get("success"):
            msg = f"terminal:reconnect failed: {reply}"
            raise RuntimeError(msg)
        need = reply["end"] - reply["offset"]
        done = output.expect_bytes(need)
        self._register(session_id, output, reply["offset"])
        arrived = time.perf_counter() if output.total >= need else await done.wait(30)
        return arrived - t0, need

    async def close(self) -> None:
        """Disconnect; the sessions keep running."""
        await self.sio.disconnect()


class LeanSocketIO:
    """The part of a Socket.IO 5 (Engine.IO 4) client the bench needs, over one aiohttp websocket.

    Events are dispatched from the one reader task as they arrive; binary events wait for their
    attachments, which follow as binary frames.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Callable[..., Awaitable[None]]] = {}
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    def on(self, event: str, handler: Callable[..., Awaitable[None]]) -> None:
        """Call ``handler(*args)`` for each ``event``."""
        self._handlers[event] = handler

    async def connect(self, url: str, headers: dict[str, str]) -> None:
        """Open the websocket and join the default namespace."""
        self._http = aiohttp.ClientSession(headers=headers)
        ws = await self._http.ws_connect(f"{url}?EIO=4&transport=websocket", max_msg_size=0)
        self._ws = ws
        opened = await ws.receive_str(timeout=30)
        if not opened.startswith("0"):
            msg = f"expected an Engine.IO open packet, got {opened[:80]!r}"
            raise RuntimeError(msg)
        await ws.send_str("40")
        while True:
            reply = await ws.receive_str(timeout=30)
            if reply.startswith("40"):
                break
            if reply.startswith("44"):
                msg = f"connection refused: {reply}"
                raise RuntimeError(msg)
        self._reader = asyncio.get_running_loop().create_task(self._read(ws))

    async def emit(self, event: str, data: Any) -> None:
        """Send an event without asking for a reply."""
        assert self._ws is not None
        await self._ws.send_str("42" + json.dumps([event, data]))

    async def call(self, event: str, data: Any, timeout: float = 30) -> Any:
        """Send an event and return the server's reply."""
        assert self._ws is not None
        self._next_id += 1
        ack_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            await self._ws.send_str(f"42{ack_id}" + json.dumps([event, data]))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def disconnect(self) -> None:
        """Leave and close the websocket."""
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(ConnectionError):
                await self._ws.send_str("41")
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._http is not None:
            await self._http.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        pending: tuple[str, int | None, Any, int] | None = None  # binary packet awaiting data
        attachments: list[bytes] = []
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                attachments.append(message.data)
                if pending is not None and len(attachments) == pending[3]:
                    kind, ack_id, data, _ = pending
                    pending = None
                    await self._dispatch(kind, ack_id, _fill(data, attachments))
                    attachments = []
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":  # Engine.IO ping
                await ws.send_str("3")
                continue
            if not text.startswith("4") or len(text) < 2:
                continue
            kind = text[1]
            rest = text[2:]
            count = 0
            if kind in "56":  # binary event / binary ack: "<n>-" then as usual
                dash = rest.index("-")
                count, rest = int(rest[:dash]), rest[dash + 1 :]
            start = rest.find("[")
            if start < 0:
                continue
            ack_id = int(rest[:start]) if rest[:start].isdigit() else None
            data = json.loads(rest[start:])
            if count:
                pending = (kind, ack_id, data, count)
                continue
            await self._dispatch(kind, ack_id, data)

    async def _dispatch(self, kind: str, ack_id: int | None, data: list[Any]) -> None:
        if kind in "36":  # a reply to ``call``
            future = self._acks.get(ack_id) if ack_id is not None else None
            if future is not None and not future.done():
                future.set_result(data[0] if data else None)
            return
        handler = self._handlers.get(data[0])
        if handler is not None:
            await handler(*data[1:])


def _bytes(data: bytes | str) -> bytes:
    """Output's bytes; output as text counts its UTF-8 bytes in the offsets."""
    return data.encode() if isinstance(data, str) else data


def _fill(data: Any, attachments: list[bytes]) -> Any:
    """``data`` with each Socket.IO placeholder replaced by its binary attachment."""
    if isinstance(data, dict):
        if data.get("_placeholder") is True and isinstance(data.get("num"), int):
            return attachments[data["num"]]
        return {key: _fill(value, attachments) for key, value in data.items()}
    if isinstance(data, list):
        return [_fill(value, attachments) for value in data]
    return data


def _origin(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _path(url: str) -> str:
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    return path.rstrip("/") + "/" + SOCKETIO_PATH


class _WebptyStalled:
    def __init__(
        self,
        server: JupyterServer,
        http: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        session_id: str,
    ) -> None:
        # Holding ``ws`` keeps the connection open: a collected response closes it.
        self.server, self.http, self.ws, self.session_id = server, http, ws, session_id

    async def close(self) -> None:
        await self.http.close()  # aborts the connection with its unread data
        async with (
            aiohttp.ClientSession(headers=self.server.headers) as http,
            http.delete(f"{self.server.url}webpty/api/sessions/{self.session_id}"),
        ):
            pass


async def open_stalled_webpty(server: JupyterServer, command: str) -> _WebptyStalled:
    """Create a session running ``command`` on a connection that then never reads again.

    Socket.IO by hand over an aiohttp websocket: aiohttp pauses the socket once 64 KiB wait in
    its queue, so the server sees a client that stopped reading (no acks, full TCP window).
    """
    http = aiohttp.ClientSession(headers=server.headers)
    url = f"ws://127.0.0.1:{server.port}{_path(server.url)}/?EIO=4&transport=websocket"
    ws = await http.ws_connect(url, max_msg_size=0)
    await ws.receive_str(timeout=30)  # Engine.IO open packet
    await ws.send_str("40")
    while not (await ws.receive_str(timeout=30)).startswith("40"):
        pass
    await ws.send_str("420" + json.dumps(["terminal:create", {"cols": COLS, "rows": ROWS}]))
    while True:  # skip list-change events and early output until the create reply
        message = await ws.receive(timeout=30)
        if message.type == aiohttp.WSMsgType.TEXT and message.data.startswith("430"):
            reply = json.loads(message.data[3:])[0]
            break
    session_id = reply["session_id"]
    payload = {"session_id": session_id, "data": command}
    await ws.send_str("42" + json.dumps(["terminal:input", payload]))
    await asyncio.sleep(0)
    return _WebptyStalled(server, http, ws, session_id)

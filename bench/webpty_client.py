"""A jupyter-webpty client on python-socketio's AsyncClient, as docs/protocol.md describes it,
and a hand-made Socket.IO client that stops reading its socket (for the memory-bound check)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import socketio

from .stream import Output

if TYPE_CHECKING:
    from .server import JupyterServer

COLS, ROWS = 80, 24
#: Acknowledge processed output at least this often (the protocol asks for <= 64 KiB).
ACK_EVERY = 64 * 1024
SOCKETIO_PATH = "webpty/socket.io"


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

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.sio = socketio.AsyncClient(reconnection=False)
        self.streams: dict[str, _Stream] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self.sio.on("terminal:output", self._on_output)

    async def connect(self) -> None:
        """Open the websocket (the only transport webpty accepts)."""
        await self.sio.connect(
            _origin(self.url),
            socketio_path=_path(self.url),
            headers=self.headers,
            transports=["websocket"],
            wait_timeout=30,
        )

    async def _on_output(self, payload: dict[str, Any]) -> None:
        session_id = payload["session_id"]
        stream = self.streams.get(session_id)
        if stream is None:  # output raced ahead of the reply that names the session
            self._early.setdefault(session_id, []).append(payload)
            return
        if payload.get("truncated"):
            stream.offset = stream.acked = payload["offset"]
            return
        data = payload["data"]
        stream.offset = payload["offset"]
        stream.output.feed(data)
        if stream.offset - stream.acked >= ACK_EVERY:
            stream.acked = stream.offset
            await self.sio.emit("terminal:ack", {"session_id": session_id, "offset": stream.offset})

    def _register(self, session_id: str, output: Output, offset: int) -> None:
        self.streams[session_id] = _Stream(output, offset)
        for payload in self._early.pop(session_id, []):
            stream = self.streams[session_id]
            if payload["offset"] > stream.offset:
                stream.offset = payload["offset"]
                output.feed(payload["data"])

    async def create(self, prompt: bytes, *, owns_connection: bool) -> WebptySession:
        """``terminal:create``; returns once the first prompt arrived."""
        output = Output()
        first_prompt = output.expect(prompt)
        t0 = time.perf_counter()
        reply = await self.sio.call("terminal:create", {"cols": COLS, "rows": ROWS}, timeout=30)
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
        reply = await self.sio.call("terminal:reconnect", {"session_id": session_id}, timeout=30)
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

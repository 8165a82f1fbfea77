"""Targets behind one async interface: jupyter-webpty, Jupyter's built-in terminals
(terminado over jupyter-server-terminals), a raw PTY read loop in this process, and ttyd
(``bench/ttyd.py``, registered by the harness when built).

Each target opens sessions whose output goes to a :class:`~bench.stream.Output`, takes keystrokes
with ``send``, can open a session whose client never reads (``open_stalled``) and, where the
feature exists, attach a fresh client to a running session (``attach``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, Protocol

import aiohttp

from .rawpty import RawTarget
from .server import JupyterServer
from .stream import Output
from .webpty_client import WebptyConnection, open_stalled_webpty

COLS, ROWS = 80, 24
__all__ = ["BuiltinTarget", "RawTarget", "Session", "Stalled", "Target", "WebptyTarget"]


class Session(Protocol):
    """One shell as one client sees it."""

    output: Output
    create_seconds: float  # request to first prompt
    key: str  # what ``attach`` takes: the session id or the terminal name

    async def send(self, text: str) -> None:
        """Type ``text``."""

    async def close(self) -> None:
        """End the shell and the client."""


class Stalled(Protocol):
    """A session running a command whose client stopped reading the socket entirely."""

    async def close(self) -> None:
        """End the shell and drop the client."""


class Target(Protocol):
    """One of the systems under test."""

    name: str
    pid: int  # the process that serves the shells (for RSS and CPU)

    async def open(self, *, shared: bool = False) -> Session:
        """A new session, returned once the first prompt arrived."""

    async def open_stalled(self, command: str) -> Stalled:
        """A new session running ``command`` whose client never reads."""

    async def close(self) -> None:
        """Drop shared connections."""


# -- jupyter-webpty ----------------------------------------------------------------------------
class WebptyTarget:
    """jupyter-webpty over a lean Socket.IO client (same aiohttp websocket as the built-in's)."""

    def __init__(self, server: JupyterServer, prompt: bytes, name: str = "webpty") -> None:
        self.name = name  # "webpty_plain": the A/B target, fast path off (run.py --fast-path-ab)
        self.server = server
        self.prompt = prompt
        self.pid = server.pid
        self._shared: WebptyConnection | None = None

    async def connect(self) -> WebptyConnection:
        """A new Socket.IO connection."""
        connection = WebptyConnection(self.server.url, self.server.headers)
        await connection.connect()
        return connection

    async def open(self, *, shared: bool = False) -> Session:
        # One connection per session, like separate pages; ``shared`` uses one connection for
        # all, as the JupyterLab extension does within a page.
        if shared:
            if self._shared is None:
                self._shared = await self.connect()
            return await self._shared.create(self.prompt, owns_connection=False)
        connection = await self.connect()
        return await connection.create(self.prompt, owns_connection=True)

    async def attach(self, session_id: str) -> tuple[float, float, int]:
        """Connect a fresh client and reconnect to ``session_id`` without an offset.

        Returns (connect seconds, reconnect-to-replay-received seconds, replayed bytes).
        """
        t0 = time.perf_counter()
        connection = await self.connect()
        t1 = time.perf_counter()
        try:
            seconds, replayed = await connection.reattach(session_id)
        finally:
            await connection.close()
        return t1 - t0, seconds, replayed

    async def open_stalled(self, command: str) -> Stalled:
        return await open_stalled_webpty(self.server, command)

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()


# -- Jupyter's built-in terminals ----------------------------------------------------------------
class BuiltinSession:
    """A terminado terminal: REST to create, one websocket speaking JSON lists."""

    def __init__(
        self, target: BuiltinTarget, name: str, ws: aiohttp.ClientWebSocketResponse, output: Output
    ) -> None:
        self.target = target
        self.name = name
        self.ws = ws
        self.output = output
        self.key = name
        self.create_seconds = 0.0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            kind, *args = json.loads(message.data)
            if kind == "stdout":
                self.output.feed(args[0].encode("utf-8"))

    async def send(self, text: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", text]))

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        await self.target.delete(self.name)


class _BuiltinStalled:
    def __init__(
        self,
        target: BuiltinTarget,
        name: str,
        http: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
    ) -> None:
        # Holding ``ws`` keeps the connection open: a collected response closes it.
        self.target, self.name, self.http, self.ws = target, name, http, ws

    async def close(self) -> None:
        await self.http.close()  # aborts the connection with its unread data
        await self.target.delete(self.name)


class BuiltinTarget:
    """jupyter-server-terminals (terminado) as JupyterLab's terminal uses it."""

    name = "builtin"

    def __init__(self, server: JupyterServer, prompt: bytes) -> None:
        self.server = server
        self.prompt = prompt
        self.pid = server.pid
        self.http: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self.http is None:
            # No connection limit: each terminal holds a websocket (aiohttp's default is 100).
            self.http = aiohttp.ClientSession(
                headers=self.server.headers, connector=aiohttp.TCPConnector(limit=0)
            )
        return self.http

    async def _create(self, http: aiohttp.ClientSession) -> str:
        async with http.post(f"{self.server.url}api/terminals") as response:
            response.raise_for_status()
            return str((await response.json())["name"])

    def _ws_url(self, name: str) -> str:
        return f"ws://127.0.0.1:{self.server.port}{self.server.base_url}terminals/websocket/{name}"

    async def open(self, *, shared: bool = False) -> Session:
        http = self._http()
        output = Output()
        prompt = output.expect(self.prompt)
        t0 = time.perf_counter()
        name = await self._create(http)
        ws = await http.ws_connect(self._ws_url(name), max_msg_size=0)
        session = BuiltinSession(self, name, ws, output)
        session.create_seconds = await prompt.wait(30) - t0
        return session

    async def attach(self, name: str) -> tuple[float, float, int]:
        """A fresh websocket to terminal ``name``: (connect s, to replay received s, bytes)."""
        output = Output()
        replay = output.expect_bytes(1)
        t0 = time.perf_counter()
        ws = await self._http().ws_connect(self._ws_url(name), max_msg_size=0)
        t1 = time.perf_counter()
        session = BuiltinSession(self, name, ws, output)
        try:
            arrived = await replay.wait(30)
        finally:
            await ws.close()
            session.reader.cancel()
        return t1 - t0, arrived - t1, output.total

    async def open_stalled(self, command: str) -> Stalled:
        http = aiohttp.ClientSession(headers=self.server.headers)
        name = await self._create(http)
        # Never received from: aiohttp stops reading the socket once its queue is full.
        ws = await http.ws_connect(self._ws_url(name), max_msg_size=0)
        await ws.send_str(json.dumps(["stdin", command]))
        return _BuiltinStalled(self, name, http, ws)

    async def delete(self, name: str) -> None:
        """Close terminal ``name``."""
        with contextlib.suppress(aiohttp.ClientError):
            async with self._http().delete(f"{self.server.url}api/terminals/{name}"):
                pass

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


def describe(target: Any) -> str:
    """A short label for tables."""
    labels = {"webpty": "jupyter-webpty", "webpty_plain": "jupyter-webpty B (the A/B server)"}
    labels.update(builtin="built-in terminal", ttyd="ttyd")
    return {**labels, "raw": "raw PTY"}[target if isinstance(target, str) else target.name]

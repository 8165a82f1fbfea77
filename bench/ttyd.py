"""ttyd (https://github.com/tsl0922/ttyd, C on libwebsockets) as a peer target.

One ``ttyd`` process serves every session of the target, and each websocket connection gets a
shell of its own, as ttyd does (``shared`` has no meaning here: a ttyd terminal is a connection).
ttyd keeps nothing once a connection closes, so it has no ``attach``: a new connection starts a
new shell. No package registry we use ships ttyd; ``bench/setup-ttyd`` builds it from its public
sources into ``TTYD_BIN`` (default ``~/.cache/jupyter-webpty-bench/ttyd/ttyd``), and the bench
runs without it when that file is missing.

The client speaks ttyd's protocol over one aiohttp websocket (subprotocol ``tty``), read by one
task, like the other targets' clients (ttyd's ``src/protocol.c`` and its browser client
``html/src/components/terminal/xterm/index.ts``):

* client to server: first a JSON text ``{"AuthToken", "columns", "rows"}`` (the shell is spawned
  on it); then binary frames whose first byte is ``0`` input, ``1`` resize (JSON), ``2`` pause,
  ``3`` resume;
* server to client: binary frames whose first byte is ``0`` output, ``1`` window title,
  ``2`` preferences (JSON).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import aiohttp

from .server import descendants, free_port, stop_process
from .stream import Output

COLS, ROWS = 80, 24
INPUT, PAUSE, RESUME = b"0", b"2", b"3"
OUTPUT = 0x30  # b"0"[0]
#: ttyd's browser client (``html/src/components/app.tsx``): every ``LIMIT`` bytes one xterm.js
#: write is tracked; more than ``HIGH_WATER`` of them unparsed sends PAUSE, each parsed one with
#: fewer than ``LOW_WATER`` left sends RESUME.
LIMIT, HIGH_WATER, LOW_WATER = 100_000, 10, 4
#: The browser client sends RESUME from every tracked write's callback, paused or not. ttyd
#: (1.7.7, commit 647d55a) then loses output: ``pty_pause``/``pty_resume`` (``src/pty.c``) never
#: update ``process->paused`` (true from the spawn on), so each RESUME restarts the PTY read even
#: while the last read still waits in ``pss->pty_buf``, and ``process_read_cb``
#: (``src/protocol.c``) overwrites it: whole reads were missing in 5 of 13 ``cat`` rounds of
#: 64 MiB here, and one more round lost its end marker and hung. So by default this client
#: sends RESUME only after its own PAUSE (never, as it keeps up); ``BENCH_TTYD_RESUME=browser``
#: sends it as the browser does, to reproduce the loss.
BROWSER_RESUME = os.environ.get("BENCH_TTYD_RESUME") == "browser"


def binary() -> Path:
    """Where ``bench/setup-ttyd`` puts ttyd (``TTYD_BIN`` overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("TTYD_BIN") or default / "jupyter-webpty-bench" / "ttyd" / "ttyd")


def missing_reason() -> str | None:
    """Why ttyd cannot run here, or None when it can."""
    path = binary()
    if not os.access(path, os.X_OK):
        return (
            f"ttyd skipped: no executable at {path} (build it with bench/setup-ttyd "
            "TTYD_SOURCE, see bench/README.md; TTYD_BIN names another binary)"
        )
    return None


class TtydSession:
    """One ttyd connection and the shell it started."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, output: Output) -> None:
        self.ws = ws
        self.output = output
        self.key = ""  # nothing to attach to: ttyd has no reattach
        self.create_seconds = 0.0
        self.title = b""
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        written = pending = 0
        paused = False
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            data: bytes = message.data
            if not data or data[0] != OUTPUT:
                if data[:1] == b"1":
                    self.title = data[1:]
                continue  # preferences: nothing to apply without a screen
            payload = data[1:]
            self.output.feed(payload)
            # ttyd's browser client's flow control. xterm.js calls the write's callback once
            # it has parsed the data; this client has processed it in feed() above, so the
            # callback's turn comes at once and the pending count never passes HIGH_WATER:
            # like a browser that keeps up, it never sends PAUSE (nor, see BROWSER_RESUME,
            # RESUME, which the browser would send once per LIMIT bytes).
            written += len(payload)
            if written > LIMIT:
                written = 0
                pending += 1
                if pending > HIGH_WATER:
                    await self.ws.send_bytes(PAUSE)
                    paused = True
                pending = max(pending - 1, 0)  # the write callback
                if pending < LOW_WATER and (paused or BROWSER_RESUME):
                    await self.ws.send_bytes(RESUME)
                    paused = False

    async def send(self, text: str) -> None:
        await self.ws.send_bytes(INPUT + text.encode("utf-8"))

    async def close(self) -> None:
        # ttyd sends the shell SIGHUP when its connection closes.
        await self.ws.close()
        self.reader.cancel()


class _TtydStalled:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Holding ``ws`` keeps the connection open: a collected response closes it.
        self.http, self.ws = http, ws

    async def close(self) -> None:
        await self.http.close()  # aborts the connection with its unread data


class TtydTarget:
    """A ttyd server on 127.0.0.1 serving the bench's shell, writable."""

    name = "ttyd"

    def __init__(self, shell: list[str], env: dict[str, str], prompt: bytes, log: Path) -> None:
        self.port = free_port()
        self.prompt = prompt
        self._log = log.open("wb")
        # TERM as webpty and the built-in set it; ttyd's own default is the same.
        argv = [str(binary()), "--interface", "127.0.0.1", "--port", str(self.port), "--writable"]
        argv += ["--debug", "3", "--", *shell]  # errors and warnings only
        self.process = subprocess.Popen(
            argv,
            env=dict(env, TERM="xterm-256color"),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid
        self.http: aiohttp.ClientSession | None = None
        self._family: set[int] = set()

    def _http(self) -> aiohttp.ClientSession:
        if self.http is None:
            self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self.http

    async def _connect(self, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        url = f"ws://127.0.0.1:{self.port}/ws"
        deadline = time.monotonic() + 30
        while True:  # the first connection may come before ttyd listens
            try:
                ws = await http.ws_connect(url, protocols=("tty",), max_msg_size=0)
                break
            except aiohttp.ClientConnectorError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        await ws.send_str(json.dumps({"AuthToken": "", "columns": COLS, "rows": ROWS}))
        return ws

    async def open(self, *, shared: bool = False) -> TtydSession:
        output = Output()
        prompt = output.expect(self.prompt)
        t0 = time.perf_counter()
        ws = await self._connect(self._http())
        session = TtydSession(ws, output)
        session.create_seconds = await prompt.wait(30) - t0
        return session

    async def open_stalled(self, command: str) -> _TtydStalled:
        http = aiohttp.ClientSession()
        # Never received from: aiohttp stops reading the socket once its queue is full.
        ws = await self._connect(http)
        await ws.send_bytes(INPUT + command.encode("utf-8"))
        return _TtydStalled(http, ws)

    def remember_family(self) -> None:
        """Note ttyd's current shells, so that ``stop`` checks each one by pid."""
        self._family.update(descendants(self.pid))

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def stop(self, grace: float = 10.0) -> list[int]:
        """SIGTERM ttyd, then kill any shell of it still alive by pid; returns those."""
        self.remember_family()
        try:
            return await stop_process(self.process, self._family, grace)
        finally:
            self._log.close()

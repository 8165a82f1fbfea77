"""Shared fixtures: a real jupyter-server with the extension, and a real Socket.IO client."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio
from jupyter_server.utils import url_path_join

from jupyter_webpty.api import Server, SessionsClient

pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: A quiet, predictable interactive shell for tests: no rc files, a fixed prompt.
SHELL_ARGV = [shutil.which("bash") or "/bin/bash", "--norc", "--noprofile", "-i"]
PROMPT = "webpty$ "


#: Modules whose server tests run twice: with ``WebPtyApp.fast_path`` on and off (the protocol
#: suite; ~20 s more on 2 cores). Elsewhere the fast path is on, as by default.
BOTH_PATHS = frozenset(
    {"tests.test_protocol", "tests.test_resume", "tests.test_flow", "tests.test_transport"}
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__ in BOTH_PATHS and "jp_server_config" in metafunc.fixturenames:
        metafunc.parametrize("fast_path", [True, False], ids=["fast", "plain"], indirect=True)


@pytest.fixture
def fast_path(request: pytest.FixtureRequest) -> bool:
    """``WebPtyApp.fast_path`` for this test's server (see ``BOTH_PATHS``)."""
    return bool(getattr(request, "param", True))


@pytest.fixture
def webpty_config() -> dict[str, Any]:
    """Per-test overrides of ``WebPtyApp`` traits."""
    return {}


@pytest.fixture
def server_config() -> dict[str, Any]:
    """Per-test extra ``ServerApp`` traits; tests parametrize this name directly."""
    return {}


@pytest.fixture
def jp_server_config(
    webpty_config: dict[str, Any], server_config: dict[str, Any], fast_path: bool
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_webpty": True}, **server_config},
        "WebPtyApp": {
            "shell_command": SHELL_ARGV,
            "extra_env": {"PS1": PROMPT, "HISTFILE": "/dev/null"},
            "kill_grace": 0.5,
            "fast_path": fast_path,
            **webpty_config,
        },
    }


@pytest.fixture
def rest(
    http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> SessionsClient:
    """The kernel side's REST client (``api.py``), pointed at the test server with its token."""
    token = jp_serverapp.identity_provider.token
    return SessionsClient(Server(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", token))


def webpty_app(jp_serverapp: Any) -> Any:
    """The test server's ``WebPtyApp``."""
    return jp_serverapp.extension_manager.extension_points["jupyter_webpty"].app


def socket_path(base_url: str) -> str:
    """The Socket.IO path under ``base_url``."""
    return url_path_join(base_url, "webpty/socket.io")


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for ``predicate()`` with a deadline (no fixed sleeps as synchronisation)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out waiting for {what or predicate}"
            raise TimeoutError(msg)
        await asyncio.sleep(0.01)


class Terminal:
    """What one client saw of one session: bytes, text, and the end offset."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.offset = 0
        self.largest = 0  # the largest output message's data (bytes)
        self.as_text = 0  # output messages whose data was a string ("text": true)
        self.largest_text = 0  # the largest of those, in UTF-8 bytes
        self.exit_code: int | None = None
        self.resets: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    @property
    def text(self) -> str:
        return codecs.decode(bytes(self.data), "utf-8", "replace")


class Client:
    """A real python-socketio client that records output per session and acks it."""

    def __init__(self, url: str, path: str, headers: dict[str, str], *, auto_ack: bool = True):
        self.url = url
        self.path = path
        self.headers = headers
        self.auto_ack = auto_ack
        self.sio = socketio.AsyncClient(reconnection=False)
        self.terminals: dict[str, Terminal] = {}
        self.errors: list[dict[str, Any]] = []
        self.changes = 0
        self.sio.on("terminal:output", self._on_output)
        self.sio.on("terminal:exit", self._on_exit)
        self.sio.on("terminal:error", self.errors.append)
        self.sio.on("terminal:changed", self._on_changed)

    def terminal(self, session_id: str) -> Terminal:
        return self.terminals.setdefault(session_id, Terminal())

    async def _on_output(self, payload: dict[str, Any]) -> None:
        term = self.terminal(payload["session_id"])
        data = payload["data"]
        if isinstance(data, str):  # output as text (asked with "text": true): its UTF-8 bytes
            data = data.encode("utf-8")
            term.as_text += 1
            term.largest_text = max(term.largest_text, len(data))
        if payload.get("truncated"):
            term.resets.append(payload)
            term.offset = payload["offset"]
        else:
            start = payload["offset"] - len(data)
            assert start == term.offset, (
                f"gap or overlap: chunk starts at {start}, had {term.offset}"
            )
            term.data += data
            term.largest = max(term.largest, len(data))
            term.offset = payload["offset"]
        term.changed.set()
        if self.auto_ack:
            await self.sio.emit(
                "terminal:ack", {"session_id": payload["session_id"], "offset": term.offset}
            )

    def _on_exit(self, payload: dict[str, Any]) -> None:
        term = self.terminal(payload["session_id"])
        term.exit_code = payload["exit_code"]
        term.changed.set()

    def _on_changed(self, payload: object) -> None:
        self.changes += 1

    async def connect(self) -> Client:
        await self.sio.connect(
            self.url,
            socketio_path=self.path,
            headers=self.headers,
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=10)

    async def create(self, cols: int = 80, rows: int = 24, **extra: Any) -> str:
        reply = await self.call("terminal:create", {"cols": cols, "rows": rows, **extra})
        assert reply["success"], reply
        self.terminal(reply["session_id"])
        await self.read_until(reply["session_id"], PROMPT)
        return str(reply["session_id"])

    async def reconnect(self, **payload: Any) -> Any:
        """``terminal:reconnect``; delivery then continues from the reply's offset."""
        reply = await self.call("terminal:reconnect", payload)
        if reply["success"]:
            self.terminal(reply["session_id"]).offset = reply["offset"]
        return reply

    async def send(self, session_id: str, text: str) -> None:
        await self.sio.emit("terminal:input", {"session_id": session_id, "data": text})

    async def read_until(self, session_id: str, needle: str, timeout: float = 10.0) -> str:
        """Wait until the session's output contains ``needle``; return all text so far."""
        term = self.terminal(session_id)
        wanted = needle.encode()
        searched = 0  # scan only new bytes (plus an overlap), not the whole output each time
        deadline = time.monotonic() + timeout
        while wanted not in term.data[max(0, searched - len(wanted)) :]:
            searched = len(term.data)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"{needle!r} not seen; got tail {term.text[-300:]!r}"
                raise TimeoutError(msg)
            term.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(term.changed.wait(), remaining)
        return term.text

    async def wait_exit(self, session_id: str, timeout: float = 10.0) -> int:
        term = self.terminal(session_id)
        await wait_until(lambda: term.exit_code is not None, timeout, "terminal:exit")
        assert term.exit_code is not None
        return term.exit_code

    async def close(self) -> None:
        await self.sio.disconnect()


@pytest.fixture
def connect(
    http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> Callable[..., Any]:
    """``async with connect() as client``: a connected client, closed afterwards."""

    @contextlib.asynccontextmanager
    async def factory(
        headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Client]:
        client = Client(
            f"http://127.0.0.1:{jp_http_port}",
            socket_path(jp_base_url),
            jp_auth_header if headers is None else headers,
            **kwargs,
        )
        await client.connect()
        try:
            yield client
        finally:
            await client.close()

    return factory

"""Jupyter's terminal API (``api/terminals``, terminado's websocket) served from webpty sessions.

Real terminado-protocol clients: aiohttp websockets with the auth header, and for the slow
reader a raw socket that stops reading after the handshake.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psutil
import pytest
import yarl
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.utils import url_path_join

from .conftest import PROMPT, wait_until
from .probes import Request, send_with_token_in_query


class NoTerminalWrite(Authorizer):
    """Allows everything but ``write`` and ``execute`` on ``terminals``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "terminals" and action in ("write", "execute"))


@pytest.fixture
def webpty_config() -> dict[str, Any]:
    return {"serve_terminals_api": True}


@pytest.fixture
def base(http_server_client: Any, jp_http_port: int, jp_base_url: str) -> str:
    """The server's URL with its ``base_url``."""
    return url_path_join(f"http://127.0.0.1:{jp_http_port}", jp_base_url)


def url(base: str, *parts: str) -> yarl.URL:
    """``base`` joined with ``parts``, sent as written: yarl would decode the "%40" of
    pytest-jupyter's base URL, which only our extension also routes decoded."""
    return yarl.URL(url_path_join(base, *parts), encoded=True)


def manager_of(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["webpty_manager"]


class Terminado:
    """A terminado-protocol client: collects ``stdout`` text and the other frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[list[Any]] = []
        self.text = ""
        self.closed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                frame = json.loads(message.data)
                self.frames.append(frame)
                if frame[0] == "stdout":
                    self.text += frame[1]
        self.closed.set()

    async def send(self, *frame: Any) -> None:
        await self.ws.send_str(json.dumps(list(frame)))

    async def read_until(self, needle: str, timeout: float = 20.0) -> str:
        await wait_until(lambda: needle in self.text, timeout, f"{needle!r} in the output")
        return self.text

    async def close(self) -> None:
        await self.ws.close()
        await self._task


@contextlib.asynccontextmanager
async def terminado(
    http: tuple[aiohttp.ClientSession, str], name: str, headers: dict[str, str]
) -> AsyncIterator[Terminado]:
    session, base = http
    ws = await session.ws_connect(url(base, "terminals/websocket", name), headers=headers)
    client = Terminado(ws)
    try:
        yield client
    finally:
        await client.close()


async def create(http: tuple[aiohttp.ClientSession, str], auth: dict[str, str], **body: Any) -> Any:
    session, base = http
    async with session.post(url(base, "api/terminals"), json=body, headers=auth) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_create_type_read_resize_list_delete(
    base: str, jp_auth_header: dict[str, str], jp_serverapp: Any, tmp_path: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        model = await create(http, jp_auth_header)
        assert set(model) == {"name", "last_activity"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", model["last_activity"])
        name = model["name"]
        async with session.get(url(base, "api/terminals"), headers=jp_auth_header) as r:
            assert r.status == 200
            assert name in [m["name"] for m in await r.json()]
        # An ordinary webpty session: listed by our own API under the same name.
        async with session.get(url(base, "webpty/api/sessions"), headers=jp_auth_header) as r:
            assert name in [s["name"] for s in await r.json()]
        async with terminado(http, name, jp_auth_header) as term:
            await term.read_until(PROMPT)
            assert term.frames[0] == ["setup", {}]
            await term.send("stdin", "echo $((6*7))\r")
            await term.read_until("42\r\n")
            await term.send("set_size", 33, 101, 600, 800)  # rows first, then JupyterLab's pixels
            await term.send("stdin", "stty size\r")
            await term.read_until("33 101")
            async with session.delete(
                url(base, "api/terminals", name), headers=jp_auth_header
            ) as r:
                assert r.status == 204
            await asyncio.wait_for(term.closed.wait(), 10)
            assert term.frames[-1] == ["disconnect", 1]
        async with session.get(url(base, "api/terminals", name), headers=jp_auth_header) as r:
            assert r.status == 404
        assert manager_of(jp_serverapp).sessions("server-owner") == []


async def test_socketio_session_is_a_terminado_terminal(
    base: str, connect: Any, jp_auth_header: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        async with connect() as client:
            session_id = await client.create(name="from-socketio")
            async with session.get(url(base, "api/terminals"), headers=jp_auth_header) as r:
                assert "from-socketio" in [m["name"] for m in await r.json()]
            async with terminado(http, "from-socketio", jp_auth_header) as term:
                await term.send("stdin", "echo both-$((2+3))\r")
                await term.read_until("both-5")
                await client.read_until(session_id, "both-5")  # the Socket.IO viewer sees it too
            # A name taken is refused (jupyter_server_terminals would orphan the first shell).
            async with session.post(
                url(base, "api/terminals"),
                json={"name": "from-socketio"},
                headers=jp_auth_header,
            ) as r:
                assert r.status == 409
            await client.call("terminal:close", {"session_id": session_id})


async def test_reconnect_gets_the_screen_not_a_tail(
    base: str, jp_auth_header: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        name = (await create(http, jp_auth_header, name="fullscreen"))["name"]
        async with terminado(http, name, jp_auth_header) as first:
            await first.read_until(PROMPT)
            # Switch to the alternate screen, print ~2 MB, then clear and paint one screen; the
            # needle is split in the command line so that its echo does not match.
            await first.send(
                "stdin",
                "printf '\\033[?1049h'; seq 1 300000; printf '\\033[H\\033[2JFULL%sREADY' -; read x\r",
            )
            await first.read_until("FULL-READY", timeout=60)
        async with terminado(http, name, jp_auth_header) as second:
            await second.read_until("FULL-READY")
            text = second.text
            # A terminal reset, the alternate screen, then the last paint: not seq's tail.
            assert text.startswith("\x1bc")
            assert "\x1b[?1049h" in text
            assert text.index("\x1b[?1049h") < text.index("FULL-READY")
            assert "299999" not in text
            await second.send("stdin", "\r")
        async with session.delete(url(base, "api/terminals", name), headers=jp_auth_header):
            pass


async def test_auth_matches_jupyter_server_terminals(
    base: str, jp_auth_header: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        api = url(base, "api/terminals")
        async with session.get(api) as r:
            assert r.status == 403
        async with session.post(api, json={}) as r:
            assert r.status == 403
        name = (await create(http, jp_auth_header))["name"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url(base, "terminals/websocket", name))
        assert refused.value.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
            await session.ws_connect(
                url(base, "terminals/websocket/nosuch"), headers=jp_auth_header
            )
        assert missing.value.status == 404
        async with session.delete(url(base, "api/terminals", name)) as r:
            assert r.status == 403
        async with session.delete(url(base, "api/terminals", name), headers=jp_auth_header) as r:
            assert r.status == 204


@pytest.mark.parametrize("server_config", [{"authorizer_class": NoTerminalWrite}])
async def test_read_only_principal_lists_but_cannot_create_or_attach(
    base: str, jp_auth_header: dict[str, str], connect: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        api = url(base, "api/terminals")
        async with session.get(api, headers=jp_auth_header) as r:
            assert r.status == 200  # "read", as jupyter_server_terminals checks
        async with session.post(api, json={}, headers=jp_auth_header) as r:
            assert r.status == 403  # "write"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url(base, "terminals/websocket/1"), headers=jp_auth_header)
        assert refused.value.status == 403  # "execute"


def _masked(payload: bytes) -> bytes:
    """One masked client text frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    size = len(payload)
    head = (
        struct.pack("!BB", 0x81, 0x80 | size)
        if size < 126
        else struct.pack("!BBH", 0x81, 0xFE, size)
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_a_client_that_stops_reading_does_not_grow_memory(
    base: str,
    jp_auth_header: dict[str, str],
    jp_http_port: int,
    jp_base_url: str,
    jp_serverapp: Any,
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        name = (await create(http, jp_auth_header, name="flood"))["name"]
        pty = manager_of(jp_serverapp).find("server-owner", name=name)
        reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = [
            f"GET {url_path_join(jp_base_url, 'terminals/websocket', name)} HTTP/1.1",
            f"Host: 127.0.0.1:{jp_http_port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            f"Sec-WebSocket-Key: {key}",
            *(f"{k}: {v}" for k, v in jp_auth_header.items()),
        ]
        writer.write(("\r\n".join(request) + "\r\n\r\n").encode())
        assert b" 101 " in await reader.readline()
        while (await reader.readline()).strip():
            pass
        process = psutil.Process()
        before = process.memory_info().rss
        started = pty.end
        # From here on the client reads nothing: the server must stop, not buffer the flood.
        writer.write(
            _masked(json.dumps(["stdin", "yes 'flood flood flood flood flood'\r"]).encode())
        )
        await writer.drain()
        bound = 48 * 1024 * 1024

        def grown() -> int:
            return int(process.memory_info().rss) - before

        paused = lambda: pty.paused and pty.end > started
        await wait_until(lambda: paused() or grown() > bound, 30, "a pause or RSS growth")
        assert grown() < bound, f"RSS grew {grown() / 1e6:.0f} MB"
        assert paused()
        # Paused for good: however many turns the server's loop takes, the output read stays
        # within what the socket buffers can hold (the kernel may grow its send buffer, to
        # tcp_wmem's 4 MiB here, which lets a few more frames out and delivery resume briefly).
        for _ in range(20):
            async with session.get(url(base, "api/terminals"), headers=jp_auth_header):
                pass
        await wait_until(paused, 10, "the PTY paused again")
        assert pty.end - started < 16 << 20, f"read {(pty.end - started) / 1e6:.0f} MB"
        assert grown() < bound, f"RSS grew {grown() / 1e6:.0f} MB"
        writer.close()
        await pty.terminate()


async def test_post_cwd_inside_the_root_and_a_missing_one(
    base: str, jp_auth_header: dict[str, str], jp_root_dir: Any
) -> None:
    (jp_root_dir / "sub").mkdir()
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        for cwd, expected in [("sub", f"{jp_root_dir}/sub"), ("no/such/dir", str(jp_root_dir))]:
            name = (await create(http, jp_auth_header, cwd=cwd))["name"]
            async with terminado(http, name, jp_auth_header) as term:
                await term.read_until(PROMPT)
                await term.send("stdin", 'echo "at:$PWD:"\r')
                await term.read_until(f"at:{expected}:")
            async with session.delete(url(base, "api/terminals", name), headers=jp_auth_header):
                pass


@pytest.mark.parametrize("webpty_config", [{}])
async def test_opt_out_leaves_jupyter_server_terminals_in_charge(
    base: str, jp_auth_header: dict[str, str], jp_serverapp: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        http = (session, base)
        theirs = await create(http, jp_auth_header)
        name = theirs["name"]
        assert manager_of(jp_serverapp).sessions("server-owner") == []  # not a webpty session
        # The contract our model copies: the same keys, the same timestamp format.
        assert set(theirs) == {"name", "last_activity"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", theirs["last_activity"])
        async with session.get(url(base, "webpty/api/sessions"), headers=jp_auth_header) as r:
            assert await r.json() == []
        terminals = jp_serverapp.web_app.settings["terminal_manager"]
        assert name in terminals.terminals
        async with session.delete(url(base, "api/terminals", name), headers=jp_auth_header) as r:
            assert r.status == 204


async def test_errors_do_not_log_the_token(
    http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    # Issue 11, item 5, for this transport too: its 4xx replies are logged without the query.
    requests: list[Request] = [
        ("GET", "api/terminals/nope", b"", {}),
        ("DELETE", "api/terminals/nope", b"", {}),
        ("POST", "api/terminals", b"[1]", {}),
        ("GET", "terminals/websocket/nope", b"", {"Upgrade": "websocket", "Connection": "Upgrade",
         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}),
    ]  # fmt: skip
    statuses, leaked = await send_with_token_in_query(
        jp_serverapp, jp_http_port, jp_base_url, requests
    )
    assert statuses == [404, 404, 400, 404]
    assert leaked == []

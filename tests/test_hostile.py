"""Hostile authenticated clients: floods, malformed frames, cross-user errors, tokens in logs.

These tests speak the websocket protocol by hand (``RawSocket``): a client library would refuse
to send an empty frame, would not announce two billion attachments, and reads whatever the server
sends, while here the test decides every byte and whether anything is read at all.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import json
import logging
import os
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from . import processes
from .conftest import Client
from .probes import USERS, Request, TwoUsers, all_logs, leaks, send_with_token_in_query

MB = 1024 * 1024
#: Most growth of server memory (RSS) one hostile connection may cause; unbounded floods grew
#: it by hundreds of MB.
RSS_BOUND = 50 * MB
FLOOD_FRAMES = 150  # of about 1 MB each
FILL = "x" * 990_000  # one frame stays below the 1 MB message limit
GOOD_QUERY = "EIO=4&transport=websocket"


def rss() -> int:
    """This process's resident memory (the server runs in the test process), bytes.

    Memory freed by earlier tests stays in the process and a flood could reuse it unseen, so
    glibc is first asked to hand free memory back (malloc_trim).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    return processes.rss()


class RawSocket:
    """A websocket client written by hand: it sends exactly the frames it is given and reads
    only when asked, so it can send what libraries refuse and stop reading."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @staticmethod
    def frame(payload: str | bytes) -> bytes:
        """One masked client frame; a zero mask key leaves the payload as it is (RFC 6455 5.3)."""
        opcode, data = (0x1, payload.encode()) if isinstance(payload, str) else (0x2, payload)
        size = len(data)
        if size < 126:
            head = bytes((0x80 | opcode, 0x80 | size))
        elif size <= 0xFFFF:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        return head + b"\0\0\0\0" + data

    async def send(self, payload: str | bytes, timeout: float = 3.0) -> bool:
        """Send one frame; False once the server closed the connection or stopped reading."""
        if self.writer.transport.is_closing():
            return False
        try:
            self.writer.write(self.frame(payload))
            await asyncio.wait_for(self.writer.drain(), timeout)
        except (ConnectionError, asyncio.TimeoutError):
            return False
        return True

    async def receive(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload). Server frames are unmasked."""
        head = await self.reader.readexactly(2)
        size = head[1] & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return head[0] & 0x0F, await self.reader.readexactly(size)

    async def receive_text(self, prefix: str) -> str:
        """The next text frame starting with ``prefix`` (others, e.g. pings, are skipped)."""
        while True:
            opcode, payload = await asyncio.wait_for(self.receive(), 10)
            if opcode == 0x1 and payload.decode().startswith(prefix):
                return payload.decode()

    async def is_closed_by_server(self, timeout: float = 10.0) -> bool:
        """Read until the server closes (close frame or EOF); False if it does not in time."""

        async def until_closed() -> None:
            while (await self.receive())[0] != 0x8:
                pass

        try:
            await asyncio.wait_for(until_closed(), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            return True
        except asyncio.TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def raw(http_server_client: Any, jp_http_port: int, jp_base_url: str) -> Any:
    """``async with raw(query, headers) as (status, socket)``: an upgrade to Engine.IO's path;
    ``socket`` is None unless the server switched protocols (101)."""

    @asynccontextmanager
    async def opener(
        query: str, headers: dict[str, str]
    ) -> AsyncIterator[tuple[int, RawSocket | None]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
        head = {
            "Host": f"127.0.0.1:{jp_http_port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            **headers,
        }
        lines = [f"GET {jp_base_url}webpty/socket.io/?{query} HTTP/1.1"]
        lines += [f"{key}: {value}" for key, value in head.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status = int((await reader.readline()).split()[1])
        while (await reader.readline()).strip():
            pass
        socket = RawSocket(reader, writer) if status == 101 else None
        try:
            yield status, socket
        finally:
            writer.close()

    return opener


async def socketio_connect(socket: RawSocket) -> None:
    """Engine.IO's open packet, then a Socket.IO connect to the default namespace."""
    await socket.receive_text("0")
    assert await socket.send("40")
    await socket.receive_text("40")


@asynccontextmanager
async def echoing(witness: Client) -> AsyncIterator[Callable[[], int]]:
    """Keep a session on another connection echoing during the block; it must never stall
    for long, and must still echo at the end. Yields a counter of the echoes seen."""
    session_id = await witness.create(name="witness")
    stop = asyncio.Event()
    count = 0

    async def loop() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1
            await witness.send(session_id, f"echo alive-{count}-$((6*7))\n")
            await witness.read_until(session_id, f"alive-{count}-42", timeout=15)

    task = asyncio.create_task(loop())
    try:
        yield lambda: count
    finally:
        stop.set()
        await task  # raises if an echo stalled
    await witness.send(session_id, "echo after-$((6*7))\n")
    await witness.read_until(session_id, "after-42")


# -- item 2: memory --------------------------------------------------------------------------
BAD_QUERIES = {
    "polling": "EIO=4&transport=polling",
    "eio3": "EIO=3&transport=websocket",
    "sid": "EIO=4&transport=websocket&sid=abc",
    "no-eio": "transport=websocket",
    "jsonp": "EIO=4&transport=websocket&j=0",
    "twice": "EIO=4&EIO=4&transport=websocket",
}


async def test_engineio_query_is_checked_before_upgrade(
    raw: Any, jp_auth_header: dict[str, str], jp_serverapp: Any
) -> None:
    for name, query in BAD_QUERIES.items():
        async with raw(query, jp_auth_header) as (status, _):
            assert status == 400, name
    async with raw(GOOD_QUERY, jp_auth_header) as (status, socket):
        assert status == 101
        await socketio_connect(socket)


ATTACHMENTS = '451999999999-["terminal:input",{"_placeholder":true,"num":0}]'
FLOODS: dict[str, tuple[str, list[str], str | bytes]] = {
    # name: (query, frames sent first, the frame sent again and again)
    "polling-query": (BAD_QUERIES["polling"], [], f'42["x","{FILL}"]'),
    "eio3-query": (BAD_QUERIES["eio3"], [], f'42["x","{FILL}"]'),
    "sid-query": (BAD_QUERIES["sid"], [], f'42["x","{FILL}"]'),
    "empty-frame": (GOOD_QUERY, [""], f'42["x","{FILL}"]'),
    "attachments": (GOOD_QUERY, [ATTACHMENTS], FILL.encode()),
    # Each request's answers (an ack and a terminal:error) repeat its 1 MB event name; the
    # client never reads them.
    "unread-replies": (GOOD_QUERY, [], f'421["{FILL}"]'),
}


@pytest.mark.parametrize("route", FLOODS)
async def test_flood_keeps_server_memory_bounded(
    route: str, raw: Any, connect: Any, jp_auth_header: dict[str, str]
) -> None:
    query, first, frame = FLOODS[route]
    async with connect() as witness, echoing(witness) as echoes:
        before = peak = rss()
        async with raw(query, jp_auth_header) as (status, socket):
            sent = 0
            if socket is not None:
                if query == GOOD_QUERY:
                    await socketio_connect(socket)
                for payload in first:
                    assert await socket.send(payload)
                while sent < FLOOD_FRAMES and await socket.send(frame):
                    sent += 1
                    peak = max(peak, rss())
                closed = await socket.is_closed_by_server()
                peak = max(peak, rss())
        assert peak - before < RSS_BOUND, f"{route}: +{(peak - before) // MB} MB after {sent} MB"
        if query == GOOD_QUERY:
            assert closed, f"{route}: the connection stayed open after {sent} frames"
        else:
            assert status == 400, route
        assert echoes() >= 1


# -- items 2 and 5: malformed frames ---------------------------------------------------------
MALFORMED: dict[str, str | bytes] = {
    "empty": "",
    "not-engineio": "x",
    "base64-binary": "bdGVzdA==",
    "nested-engineio": "2" + "[" * 100,
    "nested-message": "4" + "[" * 100_000,
    "empty-socketio": "4",
    "nested-event": "42" + "[" * 100_000,
    "nested-object": "42" + '{"a":' * 50_000,
    "nested-ack-event": "421" + "[" * 100_000,
    "deep-payload": "42" + "[" * 100 + "]" * 100,
    "invalid-json": '42["terminal:list",',
    "event-not-a-string": '42[["terminal:list"]]',
    "no-event": "42[]",
    "event-object": '42{"a":1}',
    "connect-error": "44{}",
    "binary-event": ATTACHMENTS,
    "binary-ack": '461-[{"_placeholder":true,"num":0}]',
    "binary-frame": b"\x04binary",
}


@pytest.mark.parametrize("frame", MALFORMED)
async def test_malformed_frame_closes_only_that_connection(
    frame: str, raw: Any, connect: Any, jp_serverapp: Any
) -> None:
    token = str(jp_serverapp.identity_provider.token)
    async with connect() as witness, echoing(witness):
        with all_logs(jp_serverapp) as records:
            async with raw(f"{GOOD_QUERY}&token={token}", {}) as (status, socket):
                assert status == 101
                await socketio_connect(socket)
                await socket.send(MALFORMED[frame])
                assert await socket.is_closed_by_server(), frame
        assert leaks(records, token) == []
        # (Engine.IO's ping tasks of earlier servers may be collected now: issue 11, item 13.)
        tracebacks = [
            r.getMessage()
            for r in records
            if (r.exc_info or r.levelno >= logging.ERROR)
            and not r.getMessage().startswith("Task was destroyed but it is pending")
        ]
        assert tracebacks == []


# -- item 3: errors go to the sender only ---------------------------------------------------
OTHER_NAMESPACE = [  # Socket.IO packets: the Engine.IO client adds the "4" of a message
    "1/elsewhere,",
    '2/elsewhere,["disconnect"]',
    '2/elsewhere,1["disconnect"]',
    '2/elsewhere,["connect"]',
    '2/elsewhere,["*","x"]',
    '2/elsewhere,["terminal:list",{}]',
]


@pytest.mark.parametrize("server_config", [{"identity_provider_class": TwoUsers}])
async def test_packets_for_another_namespace_reach_nobody_else(connect: Any) -> None:
    assert USERS["bob-token"] == "bob"
    as_user = {name: {"Authorization": f"token {name}-token"} for name in ("alice", "bob")}
    async with (
        connect(headers=as_user["alice"]) as alice,
        connect(headers=as_user["bob"]) as bob,
        connect(headers=as_user["bob"]) as bob2,
    ):
        session_id = await alice.create()
        for text in OTHER_NAMESPACE:
            await bob.sio.eio.send(text)  # an Engine.IO message: the Socket.IO packet as is
        for client in (bob, alice, bob2, bob):
            await client.call("terminal:list", {})
            await client.call("terminal:list", {})
        assert alice.errors == []
        assert bob2.errors == []
        assert bob.sio.connected
        await alice.send(session_id, "echo fine-$((6*7))\n")
        await alice.read_until(session_id, "fine-42")


# -- item 5 and 6: HTTP errors, REST bodies ------------------------------------------------
NESTED_BODIES = {
    "list": "[" * 100_000 + "]" * 100_000,
    "object": '{"a":' * 100_000 + "1" + "}" * 100_000,
}


@pytest.mark.parametrize("body", NESTED_BODIES)
async def test_nested_rest_body_is_a_clean_400(body: str, jp_fetch: Any) -> None:
    for path in ("webpty/api/sessions", "webpty/api/sessions/abc/input"):
        reply = await jp_fetch(path, method="POST", body=NESTED_BODIES[body], raise_error=False)
        assert reply.code == 400, (path, reply.code)
        assert "nested" in json.loads(reply.body)["message"]


async def test_http_errors_do_not_log_the_token(
    http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    requests: list[Request] = [
        ("GET", "webpty/socket.io/?EIO=4&transport=polling", b"", {}),
        ("GET", "webpty/socket.io/?EIO=3&transport=websocket", b"", {"Upgrade": "websocket"}),
        ("POST", "webpty/api/sessions", b'{"cols": "wide"}', {}),
        ("POST", "webpty/api/sessions", b"not json", {}),
        ("POST", "webpty/api/sessions", NESTED_BODIES["list"].encode(), {}),
        ("GET", "webpty/api/sessions/nope", b"", {}),
        ("DELETE", "webpty/api/sessions/nope", b"", {}),
        ("POST", "webpty/api/sessions/nope/input", b'{"data": "x"}', {}),
    ]
    statuses, leaked = await send_with_token_in_query(
        jp_serverapp, jp_http_port, jp_base_url, requests
    )
    assert statuses == [400, 400, 400, 400, 400, 404, 404, 404]
    assert leaked == []

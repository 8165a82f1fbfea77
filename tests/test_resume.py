"""Detach, reattach and lossless resume, including abrupt connection cuts mid-output."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from .conftest import PROMPT, Client, socket_path, wait_until


class CuttingProxy:
    """A TCP proxy on loopback whose connections can be cut abruptly (no close handshake)."""

    def __init__(self, port: int) -> None:
        self.upstream_port = port
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._transports: list[asyncio.WriteTransport] = []

    async def start(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._transports += [writer.transport, up_writer.transport]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def cut(self) -> None:
        """Abort every open connection: RST, as a network drop or a killed laptop lid would."""
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_reconnect_by_name_resumes_from_offset(connect: Any) -> None:
    async with connect() as first:
        session_id = await first.create(name="work")
        await first.send(session_id, "echo one-$((1+0))\n")
        await first.read_until(session_id, "one-1")
        offset = first.terminal(session_id).offset
    # The shell runs on while nobody is attached.
    async with connect() as typist:
        reply = await typist.call("terminal:reconnect", {"name": "work"})
        assert reply["success"]
        assert reply["session_id"] == session_id
        await typist.send(session_id, "echo two-$((1+1))\n")
        await typist.read_until(session_id, "two-2")
    async with connect() as second:
        reply = await second.call(
            "terminal:reconnect", {"session_id": session_id, "offset": offset}
        )
        assert reply["success"]
        assert reply["offset"] == offset
        assert reply["truncated"] is False
        term = second.terminal(session_id)
        term.offset = offset
        await second.read_until(session_id, "two-2")
        # Exactly what came after the offset (Client asserts each chunk starts where the
        # previous ended): nothing from before it again, all that followed.
        assert "one-1" not in term.text
        assert term.text.count("two-2") == 1
        assert "echo two-$((1+1))" in term.text


async def test_reconnect_unknown_session_is_an_error(connect: Any) -> None:
    async with connect() as client:
        reply = await client.call("terminal:reconnect", {"session_id": "nope"})
        assert reply == {"success": False, "error": "no such terminal session: 'nope'"}
        reply = await client.call("terminal:reconnect", {"name": "nope"})
        assert reply["success"] is False


async def test_abrupt_cuts_during_output_lose_nothing(
    http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_auth_header: dict[str, str]
) -> None:
    proxy = await CuttingProxy(jp_http_port).start()
    url = f"http://127.0.0.1:{proxy.port}"
    path = socket_path(jp_base_url)
    rng = random.Random(20261125)
    collected = bytearray()
    offset = 0
    cuts = 0
    client = await Client(url, path, jp_auth_header).connect()
    try:
        session_id = await client.create(name="seq")
        collected += client.terminal(session_id).data
        offset = client.terminal(session_id).offset
        await client.send(session_id, "seq 1 200000; echo SEQ-DONE-$((40+2))\n")
        while True:
            term = client.terminal(session_id)
            target = term.offset + rng.randrange(20_000, 200_000)
            if "SEQ-DONE-42\r\n" not in (collected + term.data).decode(errors="replace"):
                # Cut at a random point while output flows (or when it ends first).
                with contextlib.suppress(TimeoutError):
                    await wait_until(
                        lambda t=term, n=target: t.offset >= n or "SEQ-DONE-42\r\n" in t.text,
                        20,
                        "output",
                    )
            collected += term.data
            offset = term.offset
            if "SEQ-DONE-42\r\n" in collected.decode(errors="replace") and cuts >= 5:
                break
            proxy.cut()
            cuts += 1
            old = client
            client = Client(url, path, jp_auth_header)
            await client.connect()
            reply = await client.call(
                "terminal:reconnect", {"session_id": session_id, "offset": offset}
            )
            assert reply["success"], reply
            assert not reply["truncated"], reply
            client.terminal(session_id).offset = offset
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.close(), 5)
    finally:
        await client.close()
        await proxy.stop()
    text = collected.decode()
    start = text.index("\r1\r\n2\r\n") + 1  # after the echoed command line
    end = text.index("SEQ-DONE-42\r\n")
    expected = "".join(f"{n}\r\n" for n in range(1, 200_001))
    assert cuts >= 5
    assert text[start:end] == expected


async def test_two_clients_share_output_and_input(connect: Any) -> None:
    async with connect() as one, connect() as two:
        session_id = await one.create(name="shared")
        reply = await two.call("terminal:reconnect", {"name": "shared"})
        assert reply["success"]
        await two.read_until(session_id, PROMPT)
        await two.send(session_id, "echo from-$((2*1))\n")
        await one.read_until(session_id, "from-2")
        await two.read_until(session_id, "from-2")
        await one.send(session_id, "echo from-$((1*1))\n")
        await two.read_until(session_id, "from-1")
        listing = await one.call("terminal:list")
        assert listing["sessions"][0]["clients"] == 2


async def test_resize_follows_the_most_recent_typist(connect: Any) -> None:
    async with connect() as big, connect() as small:
        session_id = await big.create(cols=120, rows=40)
        await small.call("terminal:reconnect", {"session_id": session_id, "cols": 40, "rows": 10})
        await small.send(session_id, "stty size\n")
        await small.read_until(session_id, "10 40")
        # The big client types: its size applies again, so a stale small tab never pins it.
        await big.send(session_id, "stty size\n")
        await big.read_until(session_id, "40 120")
        # The driver leaves: the remaining client's size applies.
        await big.call("terminal:detach", {"session_id": session_id})
        await small.send(session_id, "stty size\n")
        await wait_until(lambda: small.terminal(session_id).text.count("10 40") >= 2, 10, "size")


async def test_detach_keeps_session_and_stops_delivery(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create()
        assert await client.call("terminal:detach", {"session_id": session_id}) == {"success": True}
        await client.sio.emit("terminal:input", {"session_id": session_id, "data": "echo x\n"})
        await wait_until(lambda: bool(client.errors), 10, "error for input while detached")
        assert "not attached" in client.errors[0]["error"]
        listing = await client.call("terminal:list")
        assert listing["sessions"][0]["clients"] == 0


async def test_disconnect_detaches_and_session_survives(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create(name="survivor")
        await client.send(session_id, "export WEBPTY_KEEP=kept\n")
        await client.read_until(session_id, PROMPT + "export")
    async with connect() as again:
        reply = await again.call("terminal:reconnect", {"name": "survivor"})
        assert reply["truncated"] is True  # no offset given: screen restore
        await again.send(session_id, "echo $WEBPTY_KEEP-$((3))\n")
        await again.read_until(session_id, "kept-3")

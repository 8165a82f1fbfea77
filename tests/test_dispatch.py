"""The one dispatcher of client events on its own: a real python-socketio server's handler table,
no connection. The protocol suites (test_protocol.py, test_resume.py, ...) cover it end to end."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import socketio

from jupyter_webpty import protocol
from jupyter_webpty.dispatch import MAX_REQUESTS_IN_FLIGHT, Dispatcher, Reply

from .conftest import wait_until


class Recorded:
    """Handlers that record their calls; ``list`` waits until ``release`` is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []
        self.emitted: list[tuple[str, dict[str, Any], str]] = []
        self.release = asyncio.Event()

    def input(self, sid: str, data: object) -> None:
        self.calls.append((protocol.INPUT, sid, data))
        if data == "boom":
            msg = "a bug"
            raise RuntimeError(msg)
        protocol.parse_input(data)

    async def list(self, sid: str, data: object) -> Reply:
        self.calls.append((protocol.LIST, sid, data))
        await self.release.wait()
        return {"success": True, "sessions": []}

    async def close(self, sid: str, data: object) -> Reply:
        protocol.parse_session_ref(data)
        return {"success": True}

    def emit(self, event: str, payload: dict[str, Any], to: str) -> None:
        self.emitted.append((event, payload, to))


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def installed(recorded: Recorded) -> tuple[Dispatcher, dict[str, Any]]:
    """The dispatcher, and the handlers it installed on a real python-socketio server."""
    table = {protocol.INPUT: recorded.input, protocol.LIST: recorded.list}
    dispatcher = Dispatcher({**table, protocol.CLOSE: recorded.close}, recorded.emit)
    sio = socketio.AsyncServer()
    dispatcher.register(sio)
    return dispatcher, sio.handlers["/"]


async def test_requests_in_flight_are_bounded_per_connection(
    recorded: Recorded, installed: tuple[Dispatcher, dict[str, Any]]
) -> None:
    _, handlers = installed
    handle = handlers[protocol.LIST]
    waiting = [asyncio.ensure_future(handle("a", {})) for _ in range(MAX_REQUESTS_IN_FLIGHT)]
    await wait_until(lambda: len(recorded.calls) == MAX_REQUESTS_IN_FLIGHT, what="all in flight")
    # One more from the same connection is refused at once, without reaching the handler.
    refused = await asyncio.wait_for(handle("a", {}), 5)
    assert refused == {
        "success": False,
        "error": f"more than {MAX_REQUESTS_IN_FLIGHT} requests at once",
    }
    assert len(recorded.calls) == MAX_REQUESTS_IN_FLIGHT
    # Another connection is not held back by this one.
    other = asyncio.ensure_future(handle("b", {}))
    await wait_until(lambda: len(recorded.calls) == MAX_REQUESTS_IN_FLIGHT + 1, what="b handled")
    recorded.release.set()
    replies = await asyncio.gather(*waiting, other)
    assert all(reply == {"success": True, "sessions": []} for reply in replies)
    # Once answered they no longer count.
    assert await handle("a", {}) == {"success": True, "sessions": []}


async def test_failures_are_answered_on_both_paths(
    recorded: Recorded,
    installed: tuple[Dispatcher, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher, handlers = installed
    with pytest.raises(protocol.ProtocolError) as no_id:
        protocol.parse_session_ref({})
    with pytest.raises(protocol.ProtocolError) as no_data:
        protocol.parse_input({"session_id": "s1", "data": 5})
    # An event with an ack id: the error is the reply.
    assert await handlers[protocol.CLOSE]("a", {}) == {"success": False, "error": str(no_id.value)}
    # Without one (NO_ACK_EVENTS): terminal:error to that connection, naming the session.
    assert await handlers[protocol.INPUT]("a", {"session_id": "s1", "data": 5}) is None
    # The fast path: the same handler and the same answer, before python-socketio decodes it.
    assert dispatcher.receive("a", '2["terminal:input",{"session_id":"s2","data":5}]')
    # Events the fast path does not take are left to python-socketio.
    assert not dispatcher.receive("a", '2["terminal:list",{}]')
    assert not dispatcher.receive("a", '21["terminal:input",{}]')
    assert [(event, to) for event, _, to in recorded.emitted] == [(protocol.ERROR, "a")] * 2
    assert [payload["session_id"] for _, payload, _ in recorded.emitted] == ["s1", "s2"]
    assert {payload["error"] for _, payload, _ in recorded.emitted} == {str(no_data.value)}
    # A refusal is no bug; an unexpected exception is, and is logged with its traceback.
    assert not caplog.records
    with caplog.at_level(logging.ERROR, logger="jupyter_webpty.dispatch"):
        assert dispatcher.receive("a", '2["terminal:input","boom"]')
    assert recorded.emitted[-1] == (protocol.ERROR, {"session_id": None, "error": "a bug"}, "a")
    [record] = caplog.records
    assert record.exc_info is not None


async def test_unknown_events_are_answered(
    recorded: Recorded, installed: tuple[Dispatcher, dict[str, Any]]
) -> None:
    _, handlers = installed
    reply = await handlers["*"]("terminal:nope", "a", {})
    assert reply == {"success": False, "error": "unknown event 'terminal:nope'"}
    assert recorded.emitted == [
        (protocol.ERROR, {"session_id": None, "error": "unknown event 'terminal:nope'"}, "a")
    ]

"""The python-socketio server webpty runs: bounded JSON, no reserved events from clients, and a
stop that leaves no task behind. Translation of events lives in ``transport.py``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import engineio
import socketio
from socketio import packet

from . import protocol
from .mailbox import Mailbox

#: Names python-socketio dispatches to its own handlers; a client must not trigger them.
_RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*"})
_MAX_INT_DIGITS = 30


class BoundedJson:
    """The ``json`` module for Socket.IO packets, with huge integer literals made harmless.

    python-socketio drops a packet whose integer literal it cannot parse, so the request would
    get no answer at all; here a 10**100 becomes ``inf`` and fails validation with a message.
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        if kwargs or not isinstance(text, str):
            return json.loads(text, parse_int=_parse_int, **kwargs)
        # One decoder for all packets: json.loads with parse_int builds a new one per call,
        # ~15 µs of a keystroke's path when the server wakes from idle (bench/README.md,
        # "A keystroke after a pause").
        return _DECODER.decode(text)


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= _MAX_INT_DIGITS else float("inf")


_DECODER = json.JSONDecoder(parse_int=_parse_int)


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO's server, keeping its background tasks so that a stop can end them.

    Engine.IO starts each connection's ping timer (a 25 s sleep) and python-socketio each event
    handler with ``ensure_future`` and keeps no reference: when the server stops, the loop
    closes with them pending and logs "Task was destroyed but it is pending" for each.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._background: set[asyncio.Future[Any]] = set()

    def create_queue(self, *args: Any, **kwargs: Any) -> Mailbox[Any]:
        """Each socket's queue of packets for its writer: a Mailbox (mailbox.py), whose idle cost
        is a few bytes where an asyncio.Queue's is ~3 KB."""
        return Mailbox(*args, **kwargs)

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        task = super().start_background_task(target, *args, **kwargs)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def cancel_background_tasks(self) -> None:
        """Cancel every background task still running and wait for them to end."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class TerminalServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that treats client events named like its internal ones as unknown.

    Otherwise a client emitting "disconnect" would run the disconnect handler on its own
    connection, and "*" would reach the catch-all with shifted arguments. This overrides a
    private method of python-socketio 5 (pinned < 6 in pyproject).
    """

    _stopped = False

    def _engineio_server_class(self) -> type[_EngineServer]:
        return _EngineServer

    async def stop(self) -> None:
        """Stop background work (python-socketio's, then Engine.IO's ping timers): a server stop
        then leaves no task pending. Only the first call does anything (Engine.IO's
        ``shutdown`` raises when called twice)."""
        if self._stopped:
            return
        self._stopped = True
        await self.shutdown()
        await self.eio.cancel_background_tasks()

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None:
            # A namespace this client never joined: python-socketio ignores such events, and an
            # error emitted to sid None would go to every connection of every user.
            return
        if data and isinstance(data[0], str) and data[0] in _RESERVED_EVENTS:
            error = f"event {data[0]!r} is reserved"
            if id is not None:
                reply = [{"success": False, "error": error}]
                ack = self.packet_class(packet.ACK, namespace=namespace, id=id, data=reply)
                await self._send_packet(eio_sid, ack)
            await self.emit(protocol.ERROR, {"session_id": None, "error": error}, to=sid)
            return
        await super()._handle_event(eio_sid, namespace, id, data)

"""Emits to Socket.IO connections, past python-socketio's queues when the order allows.

A connection whose transport offers a ``Wire`` (the fast path, ``fastpath.py``) gets its
packets written straight to the websocket, as long as nothing sent earlier is still on
python-socketio's way; without one, everything goes through ``sio.emit``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

import socketio
from socketio import packet

from . import fastpath

log = logging.getLogger(__name__)


class Wire(Protocol):
    """The websocket under one Socket.IO connection, as the fast path uses it (sockethandler.py,
    fastpath.py). The two methods skip python-socketio's queues; everything else takes its path.
    """

    def send_message(self, text: str, attachment: bytes | None) -> bool:
        """Write one Socket.IO packet (and its one binary attachment) now; False if closed."""

    def set_receiver(self, receiver: Callable[[str], bool] | None) -> None:
        """Offer each Socket.IO packet (text, without the Engine.IO type) to ``receiver``
        first; it returns True when it handled the packet."""


#: The connection's Wire, when its transport offers one.
FindWire = Callable[[dict[str, Any]], "Wire | None"]


class Outbox:
    """Sends events to connections and rooms of one python-socketio server, in order."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wires: dict[str, tuple[Wire, Any]] = {}  # sid -> (wire, Engine.IO socket)
        self._queued: dict[str, int] = {}  # sid -> emits still on python-socketio's path

    def add(self, sid: str, wire: Wire, socket: Any) -> None:
        """Send to ``sid`` through ``wire`` when the order allows (``socket``: its Engine.IO
        socket, whose queue tells)."""
        self._wires[sid] = (wire, socket)

    def remove(self, sid: str) -> Wire | None:
        """Forget ``sid``'s wire (the connection ended); return it."""
        found = self._wires.pop(sid, None)
        return found[0] if found is not None else None

    def send_now(self, sid: str, text: str, attachment: bytes | None) -> bool:
        """Write a packet straight to ``sid``'s websocket, if that keeps the packets in order.

        It does while nothing sent earlier is still on python-socketio's way: none of our
        emits, and nothing in Engine.IO's queue (replies to calls, pings; ``fastpath.is_idle``).
        """
        found = self._wires.get(sid)
        if found is None or self._queued.get(sid):
            return False
        wire, socket = found
        if not fastpath.is_idle(socket):
            return False
        # A closed websocket drops the packet: the client resumes from its offset.
        wire.send_message(text, attachment)
        return True

    def emit(self, event: str, payload: dict[str, Any], to: str) -> None:
        """Emit ``event`` to the connection or room ``to``, straight to the websocket when the
        order allows."""
        if to in self._wires:  # one connection: the hot path when it keeps the order
            encoded = self._sio.packet_class(
                packet.EVENT, namespace="/", data=[event, payload]
            ).encode()
            if isinstance(encoded, str):
                encoded = [encoded, None]
            if len(encoded) == 2 and self.send_now(to, encoded[0], encoded[1]):
                return
        self.emit_queued(event, payload, to)

    def emit_queued(self, event: str, payload: dict[str, Any], to: str) -> None:
        """Emit through python-socketio (and Engine.IO's queue)."""
        if not to:  # python-socketio would broadcast to every connection of every user
            log.error("refusing to emit %s without a recipient", event)
            return
        if to in self._wires:
            self._queued[to] = self._queued.get(to, 0) + 1  # no direct sends until it is out
        # Tasks run in creation order and each completes without suspending (the websocket
        # queue is unbounded), so packets stay in order; keep references until done.
        task = asyncio.get_running_loop().create_task(self._sio.emit(event, payload, to=to))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._emitted(done, to))

    def _emitted(self, task: asyncio.Task[Any], to: str) -> None:
        self._tasks.discard(task)
        count = self._queued.get(to)
        if count is not None:
            if count <= 1:
                del self._queued[to]
            else:
                self._queued[to] = count - 1

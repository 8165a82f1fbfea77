"""One dispatcher for client events, whichever path they arrive by.

Events arrive by two paths: python-socketio's event handlers (a task per event), and, when the
connection's transport offers an ``outbox.Wire`` (the fast path, ``fastpath.py``), ``receive``
in the websocket's own callback for ``protocol.NO_ACK_EVENTS``. Both run the handler from one
table and answer a failure the same way (``_refuse``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import socketio

from . import fastpath, protocol
from .core import WebPtyError

log = logging.getLogger(__name__)

Reply = dict[str, Any]
#: An event handler: ``protocol.NO_ACK_EVENTS`` handlers run to completion and return None;
#: the others are coroutine functions whose result is the reply.
Handler = Callable[[str, object], "Awaitable[Reply] | None"]
#: Emits an event to a connection or room (``Outbox.emit``).
Emit = Callable[[str, dict[str, Any], str], None]

#: Requests of one connection being handled at once (python-socketio starts a task for each
#: event); more are refused at once, so a flood of slow requests cannot pile up tasks.
MAX_REQUESTS_IN_FLIGHT = 64


class Dispatcher:
    """Runs the handler of each client event from one table, on either path."""

    def __init__(self, handlers: Mapping[str, Handler], emit: Emit) -> None:
        self._handlers = dict(handlers)
        self._emit = emit
        self._in_flight: dict[str, int] = {}  # sid -> requests being handled

    def register(self, sio: socketio.AsyncServer) -> None:
        """Install python-socketio's path: a handler per event, and one for unknown events."""
        for event in self._handlers:
            sio.on(event, self._on_event(event))
        # Unknown events get an error instead of silence.
        sio.on("*", self._unknown)

    def _on_event(self, event: str) -> Callable[..., Coroutine[Any, Any, Reply | None]]:
        """python-socketio's path: one task per event, at most ``MAX_REQUESTS_IN_FLIGHT``."""

        async def handle(sid: str, *args: object) -> Reply | None:
            data = payload(args)
            in_flight = self._in_flight.get(sid, 0)
            if in_flight >= MAX_REQUESTS_IN_FLIGHT:
                busy = protocol.ProtocolError(f"more than {in_flight} requests at once")
                return self._refuse(sid, event, data, busy)
            self._in_flight[sid] = in_flight + 1
            try:
                pending = self.dispatch(sid, event, data)
                return None if pending is None else await pending
            finally:
                left = self._in_flight.get(sid, 1) - 1
                if left > 0:
                    self._in_flight[sid] = left
                else:
                    self._in_flight.pop(sid, None)

        return handle

    def receive(self, sid: str, text: str) -> bool:
        """The fast path: a ``protocol.NO_ACK_EVENTS`` packet handled at once (True), or False.

        Called in the websocket's own callback, one packet after the other as they arrive.
        Other packets go through python-socketio; a client never needs the two orders to
        agree, since it waits for the reply to ``create`` or ``reconnect`` before it sends
        input for that session (docs/protocol.md).
        """
        found = fastpath.hot_event(text)
        if found is None:
            return False
        event, args = found
        self.dispatch(sid, event, payload(args))
        return True

    def dispatch(self, sid: str, event: str, data: object) -> Awaitable[Reply | None] | None:
        """Both paths' one dispatcher: run ``event``'s handler, a failure answered by ``_refuse``.

        A ``NO_ACK_EVENTS`` handler has run when this returns (None); for the others, the
        result is the reply to await.
        """
        handler = self._handlers[event]
        if event in protocol.NO_ACK_EVENTS:
            try:
                handler(sid, data)
            except Exception as exc:  # noqa: BLE001 (_refuse logs the unexpected ones)
                self._refuse(sid, event, data, exc)
            return None
        return self._reply(sid, event, data, handler)

    async def _reply(self, sid: str, event: str, data: object, handler: Handler) -> Reply | None:
        try:
            pending = handler(sid, data)
            return None if pending is None else await pending
        except Exception as exc:  # noqa: BLE001 (_refuse logs the unexpected ones)
            return self._refuse(sid, event, data, exc)

    def _refuse(self, sid: str, event: str, data: object, exc: Exception) -> Reply | None:
        """How both paths answer an event that failed: the error reply, or ``terminal:error``
        for an event sent without an ack id. A failure that is no refusal of the core or the
        protocol is a bug: logged with its traceback."""
        if not isinstance(exc, (protocol.ProtocolError, WebPtyError)):
            log.error("terminal event %s failed", event, exc_info=exc)
        if event in protocol.NO_ACK_EVENTS:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str):
                session_id = None
            self._emit(protocol.ERROR, {"session_id": session_id, "error": str(exc)}, sid)
            return None
        return {"success": False, "error": str(exc)}

    async def _unknown(self, event: str, sid: str, *args: object) -> Reply:
        self._emit(protocol.ERROR, {"session_id": None, "error": f"unknown event {event!r}"}, sid)
        return {"success": False, "error": f"unknown event {event!r}"}


def payload(args: Any) -> object:
    """An event's arguments as one payload: the only one, None, or the list of them."""
    return args[0] if len(args) == 1 else (None if not args else list(args))

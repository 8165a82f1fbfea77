"""Socket.IO events <-> SessionManager calls. No PTY code and no HTTP here: it only translates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import socketio

from . import fastpath, protocol
from .core import Attached, CommandRecord, PtySession, SessionManager, WebPtyError
from .outbox import FindWire, Outbox

log = logging.getLogger(__name__)

#: Maps a connection's WSGI-style environ to its owner key, or None to refuse it.
Identify = Callable[[dict[str, Any]], "str | None"]
Reply = dict[str, Any]
#: An event handler: ``protocol.NO_ACK_EVENTS`` handlers run to completion and return None;
#: the others are coroutine functions whose result is the reply.
Handler = Callable[[str, object], "Awaitable[Reply] | None"]

_NOT_ATTACHED = "this connection is not attached to the session; reconnect to it first"
#: Requests of one connection being handled at once (python-socketio starts a task for each
#: event); more are refused at once, so a flood of slow requests cannot pile up tasks.
MAX_REQUESTS_IN_FLIGHT = 64


def _attached_reply(session: PtySession, attached: Attached, *, resume: bool) -> Reply:
    """The reply to ``create`` and ``reconnect``: the session, its size and where delivery to
    this connection starts; with ``resume`` (``reconnect``), what the client needs to resume."""
    reply: Reply = {
        "success": True,
        "session_id": session.id,
        "name": session.name,
        "created_at": protocol.describe_time(session.created_at),
        "offset": attached.offset,
    }
    if resume:
        reply.update(end=attached.end, truncated=attached.truncated, preamble=attached.preamble)
    reply.update(cols=session.cols, rows=session.rows)
    return reply


def _failure(exc: Exception) -> Reply:
    return {"success": False, "error": str(exc)}


class TerminalEvents:
    """Binds a python-socketio server to a SessionManager, one handler per event.

    Events arrive by two paths and meet in one dispatcher (``_dispatch``): python-socketio's
    event handlers, and, when the connection's transport offers an ``outbox.Wire`` (the fast
    path, ``fastpath.py``; ``wire=None`` turns it off), ``_receive`` in the websocket's own
    callback for ``protocol.NO_ACK_EVENTS``.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        manager: SessionManager,
        identify: Identify,
        wire: FindWire | None = None,
    ):
        self._sio = sio
        self._manager = manager
        self._identify = identify
        self._find_wire = wire
        self._owners: dict[str, str] = {}  # sid -> owner
        self._attached: dict[str, set[str]] = {}  # sid -> session ids
        self._outbox = Outbox(sio)
        self._emit = self._outbox.emit
        self._in_flight: dict[str, int] = {}  # sid -> requests being handled
        self._stopping = False
        #: The one table of client events.
        self._handlers: dict[str, Handler] = {
            protocol.CREATE: self.create,
            protocol.INPUT: self.input,
            protocol.RESIZE: self.resize,
            protocol.CLOSE: self.close,
            protocol.LIST: self.list,
            protocol.RECONNECT: self.reconnect,
            protocol.DETACH: self.detach,
            protocol.ACK: self.ack,
            protocol.RENAME: self.rename,
        }
        manager.add_listener(self)
        manager.on_command(self._command)

    def register(self) -> None:
        """Install the handlers on the server."""
        self._sio.on("connect", self.connect)
        self._sio.on("disconnect", self.disconnect)
        for event in self._handlers:
            self._sio.on(event, self._on_event(event))
        # Unknown events get an error instead of silence.
        self._sio.on("*", self._unknown)

    def _on_event(self, event: str) -> Callable[..., Coroutine[Any, Any, Reply | None]]:
        """python-socketio's path: one task per event, at most ``MAX_REQUESTS_IN_FLIGHT``."""

        async def handle(sid: str, *args: object) -> Reply | None:
            data = _payload(args)
            in_flight = self._in_flight.get(sid, 0)
            if in_flight >= MAX_REQUESTS_IN_FLIGHT:
                busy = protocol.ProtocolError(f"more than {in_flight} requests at once")
                return self._refuse(sid, event, data, busy)
            self._in_flight[sid] = in_flight + 1
            try:
                pending = self._dispatch(sid, event, data)
                return None if pending is None else await pending
            finally:
                left = self._in_flight.get(sid, 1) - 1
                if left > 0:
                    self._in_flight[sid] = left
                else:
                    self._in_flight.pop(sid, None)

        return handle

    def _receive(self, sid: str, text: str) -> bool:
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
        self._dispatch(sid, event, _payload(args))
        return True

    def _dispatch(self, sid: str, event: str, data: object) -> Awaitable[Reply | None] | None:
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
        """How both paths (``_guard``, ``_receive``) answer an event that failed: the error
        reply, or ``terminal:error`` for an event sent without an ack id. A failure that is no
        refusal of the core or the protocol is a bug: logged with its traceback."""
        if not isinstance(exc, (protocol.ProtocolError, WebPtyError)):
            log.error("terminal event %s failed", event, exc_info=exc)
        if event in protocol.NO_ACK_EVENTS:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str):
                session_id = None
            self._emit(protocol.ERROR, {"session_id": session_id, "error": str(exc)}, sid)
            return None
        return _failure(exc)

    async def _unknown(self, event: str, sid: str, *args: object) -> Reply:
        self._emit(protocol.ERROR, {"session_id": None, "error": f"unknown event {event!r}"}, sid)
        return {"success": False, "error": f"unknown event {event!r}"}

    # -- connection ----------------------------------------------------------------------------
    async def connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> bool:
        """Accept the connection only with an owner; join the owner's room for list changes."""
        owner = self._identify(environ)
        if owner is None:
            return False
        # (TCP_NODELAY for keystroke echo is set by the tornado handler, sockethandler.py.)
        self._owners[sid] = owner
        self._attached[sid] = set()
        await self._sio.enter_room(sid, self._room(owner))
        wire = self._find_wire(environ) if self._find_wire is not None else None
        socket = fastpath.engineio_socket(self._sio, sid) if wire is not None else None
        if wire is not None and socket is not None:
            self._outbox.add(sid, wire, socket)
            wire.set_receiver(lambda text: self._receive(sid, text))
        return True

    async def disconnect(self, sid: str, *args: object) -> None:
        """Detach the connection from its sessions; they keep running."""
        owner = self._owners.pop(sid, None)
        wire = self._outbox.remove(sid)
        if wire is not None:
            wire.set_receiver(None)
        for session_id in self._attached.pop(sid, set()):
            try:
                session = self._manager.get(owner or "", session_id)
            except WebPtyError:
                continue
            session.detach(sid)
        if owner is not None:
            self._manager.notify_changed(owner)

    def _owner(self, sid: str) -> str:
        owner = self._owners.get(sid)
        if owner is None:
            msg = "connection is not authenticated"
            raise protocol.ProtocolError(msg)
        return owner

    @staticmethod
    def _room(owner: str) -> str:
        return f"owner:{owner}"

    # -- events --------------------------------------------------------------------------------
    async def create(self, sid: str, data: object) -> Reply:
        """``terminal:create``: start a shell and attach this connection from offset 0."""
        request = protocol.parse_create(data)
        owner = self._owner(sid)
        session = self._manager.create(
            owner, cols=request.cols, rows=request.rows, name=request.name, cwd=request.cwd
        )
        attached = self._attach(sid, session, 0)
        session.resize(request.cols, request.rows, key=sid)
        return _attached_reply(session, attached, resume=False)

    async def reconnect(self, sid: str, data: object) -> Reply:
        """``terminal:reconnect``: attach to one of the caller's sessions and resume."""
        request = protocol.parse_reconnect(data)
        owner = self._owner(sid)
        session = self._manager.find(owner, session_id=request.session_id, name=request.name)
        session.detach(sid)  # a second reconnect restarts delivery cleanly
        attached = self._attach(sid, session, request.offset)
        if request.cols is not None and request.rows is not None:
            session.resize(request.cols, request.rows, key=sid)
        self._manager.notify_changed(owner)
        return _attached_reply(session, attached, resume=True)

    def _attach(self, sid: str, session: PtySession, offset: int | None) -> Attached:
        session_id = session.id
        head, tail = fastpath.output_packet(session_id)  # formatted once, not per chunk
        send_now, emit_queued = self._outbox.send_now, self._outbox.emit_queued

        def sink(data: bytes, end: int) -> None:
            if not send_now(sid, f"{head}{end}{tail}", data):
                payload = {"session_id": session_id, "offset": end, "data": data}
                emit_queued(protocol.OUTPUT, payload, sid)

        def reset(preamble: str, start: int) -> None:
            payload = {
                "session_id": session_id,
                "data": b"",
                "offset": start,
                "truncated": True,
                "preamble": preamble,
            }
            self._emit(protocol.OUTPUT, payload, sid)

        self._attached.setdefault(sid, set()).add(session_id)
        return session.attach(sid, sink, reset, offset)

    def input(self, sid: str, data: object) -> None:
        """``terminal:input``: type into an attached session."""
        request = protocol.parse_input(data)
        session = self._attached_session(sid, request.session_id)
        session.write(request.data.encode("utf-8"), key=sid)

    def resize(self, sid: str, data: object) -> None:
        """``terminal:resize``: this connection now drives the terminal's size."""
        request = protocol.parse_resize(data)
        session = self._attached_session(sid, request.session_id)
        session.resize(request.cols, request.rows, key=sid)

    def ack(self, sid: str, data: object) -> None:
        """``terminal:ack``: flow control."""
        request = protocol.parse_ack(data)
        session = self._attached_session(sid, request.session_id)
        session.ack(sid, request.offset)

    async def detach(self, sid: str, data: object) -> Reply:
        """``terminal:detach``: stop delivery to this connection."""
        request = protocol.parse_session_ref(data)
        owner = self._owner(sid)
        session = self._manager.get(owner, request.session_id)
        session.detach(sid)
        self._attached.get(sid, set()).discard(session.id)
        self._manager.notify_changed(owner)
        return {"success": True}

    async def close(self, sid: str, data: object) -> Reply:
        """``terminal:close``: end the session and everything it started."""
        request = protocol.parse_session_ref(data)
        await self._manager.close(self._owner(sid), request.session_id)
        return {"success": True}

    async def rename(self, sid: str, data: object) -> Reply:
        """``terminal:rename``: a new name, unique among the caller's sessions."""
        request = protocol.parse_rename(data)
        session = self._manager.rename(self._owner(sid), request.session_id, request.name)
        return {"success": True, "session_id": session.id, "name": session.name}

    async def list(self, sid: str, data: object) -> Reply:
        """``terminal:list``: the caller's sessions."""
        protocol.parse_list(data)
        owner = self._owner(sid)
        return {
            "success": True,
            "sessions": [protocol.describe(s) for s in self._manager.sessions(owner)],
        }

    def _attached_session(self, sid: str, session_id: str) -> PtySession:
        session = self._manager.get(self._owner(sid), session_id)
        if not session.is_attached(sid):
            raise protocol.ProtocolError(_NOT_ATTACHED)
        return session

    # -- manager listener ------------------------------------------------------------------------
    def stopping(self) -> None:
        """The server is stopping: exits from now on say so (``reason: "shutdown"``)."""
        self._stopping = True

    def session_exited(self, session: PtySession) -> None:
        """Tell the owner's connections that the shell ended."""
        payload: Reply = {"session_id": session.id, "exit_code": session.exit_code}
        if self._stopping:
            payload["reason"] = protocol.EXIT_REASON_SHUTDOWN
        self._emit(protocol.EXIT, payload, self._room(session.owner))
        for sessions in self._attached.values():
            sessions.discard(session.id)

    def _command(self, session: PtySession, record: CommandRecord, finished: bool) -> None:
        """Tell the owner's connections that a command started or finished."""
        payload: protocol.CommandEvent = {
            "session_id": session.id,
            "event": protocol.COMMAND_FINISHED if finished else protocol.COMMAND_STARTED,
            "command": protocol.command_info(record),
        }
        self._emit(protocol.COMMAND, dict(payload), self._room(session.owner))

    def sessions_changed(self, owner: str) -> None:
        """Ask the owner's connections to re-list."""
        self._emit(protocol.CHANGED, {}, self._room(owner))


def _payload(args: Any) -> object:
    """An event's arguments as one payload: the only one, None, or the list of them."""
    return args[0] if len(args) == 1 else (None if not args else list(args))

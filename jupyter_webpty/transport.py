"""Socket.IO events <-> SessionManager calls. No PTY code and no HTTP here: it only translates.

``TerminalEvents`` holds the event handlers and puts the other parts together: ``dispatch.py``
runs the handlers on both paths (python-socketio's and the fast path), ``connections.py`` knows
each connection's owner and sessions, ``news.py`` tells owners what happened unasked, and
``outbox.py`` sends.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import socketio

from . import fastpath, protocol
from .connections import Connections, room
from .core import Attached, PtySession, SessionManager, WebPtyError
from .dispatch import Dispatcher, Handler, Reply
from .news import SessionNews
from .outbox import FindWire, Outbox

#: Maps a connection's WSGI-style environ to its owner key, or None to refuse it.
Identify = Callable[[dict[str, Any]], "str | None"]

_NOT_ATTACHED = "this connection is not attached to the session; reconnect to it first"


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


class TerminalEvents:
    """Binds a python-socketio server to a SessionManager, one handler per client event.

    ``wire`` finds a connection's ``outbox.Wire`` (the fast path, ``fastpath.py``); None turns
    the fast path off.
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
        self._connections = Connections()
        self._outbox = Outbox(sio)
        self._emit = self._outbox.emit
        self._news = SessionNews(manager, self._connections, self._emit)
        #: The one table of client events.
        handlers: dict[str, Handler] = {
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
        self._dispatcher = Dispatcher(handlers, self._emit)

    def register(self) -> None:
        """Install the handlers on the server."""
        self._sio.on("connect", self.connect)
        self._sio.on("disconnect", self.disconnect)
        self._dispatcher.register(self._sio)

    def stopping(self) -> None:
        """The server is stopping: exits from now on say so (``reason: "shutdown"``)."""
        self._news.stopping()

    # -- connection ----------------------------------------------------------------------------
    async def connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> bool:
        """Accept the connection only with an owner; join the owner's room for list changes."""
        owner = self._identify(environ)
        if owner is None:
            return False
        # (TCP_NODELAY for keystroke echo is set by the tornado handler, sockethandler.py.)
        self._connections.add(sid, owner)
        await self._sio.enter_room(sid, room(owner))
        wire = self._find_wire(environ) if self._find_wire is not None else None
        socket = fastpath.engineio_socket(self._sio, sid) if wire is not None else None
        if wire is not None and socket is not None:
            self._outbox.add(sid, wire, socket)
            receive = self._dispatcher.receive
            wire.set_receiver(lambda text: receive(sid, text))
        return True

    async def disconnect(self, sid: str, *args: object) -> None:
        """Detach the connection from its sessions; they keep running."""
        owner, attached = self._connections.remove(sid)
        wire = self._outbox.remove(sid)
        if wire is not None:
            wire.set_receiver(None)
        for session_id in attached:
            try:
                session = self._manager.get(owner or "", session_id)
            except WebPtyError:
                continue
            session.detach(sid)
        if owner is not None:
            self._manager.notify_changed(owner)

    # -- events --------------------------------------------------------------------------------
    async def create(self, sid: str, data: object) -> Reply:
        """``terminal:create``: start a shell and attach this connection from offset 0."""
        request = protocol.parse_create(data)
        owner = self._connections.owner(sid)
        session = self._manager.create(
            owner, cols=request.cols, rows=request.rows, name=request.name, cwd=request.cwd
        )
        attached = self._attach(sid, session, 0, text=request.text)
        session.resize(request.cols, request.rows, key=sid)
        return _attached_reply(session, attached, resume=False)

    async def reconnect(self, sid: str, data: object) -> Reply:
        """``terminal:reconnect``: attach to one of the caller's sessions and resume."""
        request = protocol.parse_reconnect(data)
        owner = self._connections.owner(sid)
        session = self._manager.find(owner, session_id=request.session_id, name=request.name)
        session.detach(sid)  # a second reconnect restarts delivery cleanly
        attached = self._attach(sid, session, request.offset, text=request.text)
        if request.cols is not None and request.rows is not None:
            session.resize(request.cols, request.rows, key=sid)
        self._manager.notify_changed(owner)
        return _attached_reply(session, attached, resume=True)

    def _attach(
        self, sid: str, session: PtySession, offset: int | None, *, text: bool = False
    ) -> Attached:
        session_id = session.id
        head, tail = fastpath.output_packet(session_id)  # formatted once, not per chunk
        text_head = fastpath.output_text_packet(session_id)
        send_now, emit_queued = self._outbox.send_now, self._outbox.emit_queued
        dumps = json.dumps

        def sink(data: bytes, end: int) -> None:
            # Asked for text: a small chunk that is UTF-8 on its own goes as one text frame, not
            # a packet and its attachment (a browser hands each frame to the page as a task of
            # its own; docs/protocol.md, "Output as text"). Anything else goes as bytes.
            value: bytes | str = data
            if text and len(data) <= protocol.MAX_TEXT_OUTPUT_BYTES:
                with contextlib.suppress(UnicodeDecodeError):  # e.g. a character split in two
                    value = data.decode("utf-8")
            if isinstance(value, str):
                sent = send_now(sid, f'{text_head}{end},"data":{dumps(value)}}}]', None)
            else:
                sent = send_now(sid, f"{head}{end}{tail}", data)
            if not sent:
                payload = {"session_id": session_id, "offset": end, "data": value}
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

        self._connections.attach(sid, session_id)
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
        owner = self._connections.owner(sid)
        session = self._manager.get(owner, request.session_id)
        session.detach(sid)
        self._connections.detach(sid, session.id)
        self._manager.notify_changed(owner)
        return {"success": True}

    async def close(self, sid: str, data: object) -> Reply:
        """``terminal:close``: end the session and everything it started."""
        request = protocol.parse_session_ref(data)
        await self._manager.close(self._connections.owner(sid), request.session_id)
        return {"success": True}

    async def rename(self, sid: str, data: object) -> Reply:
        """``terminal:rename``: a new name, unique among the caller's sessions."""
        request = protocol.parse_rename(data)
        owner = self._connections.owner(sid)
        session = self._manager.rename(owner, request.session_id, request.name)
        return {"success": True, "session_id": session.id, "name": session.name}

    async def list(self, sid: str, data: object) -> Reply:
        """``terminal:list``: the caller's sessions."""
        protocol.parse_list(data)
        owner = self._connections.owner(sid)
        return {
            "success": True,
            "sessions": [protocol.describe(s) for s in self._manager.sessions(owner)],
        }

    def _attached_session(self, sid: str, session_id: str) -> PtySession:
        session = self._manager.get(self._connections.owner(sid), session_id)
        if not session.is_attached(sid):
            raise protocol.ProtocolError(_NOT_ATTACHED)
        return session

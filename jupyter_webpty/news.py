"""What the server tells an owner's connections unasked: exits, commands, list changes."""

from __future__ import annotations

from typing import Any

from . import protocol
from .connections import Connections, room
from .core import CommandRecord, PtySession, SessionManager
from .dispatch import Emit


class SessionNews:
    """Listens to a SessionManager and emits what it hears to the owner's room."""

    def __init__(self, manager: SessionManager, connections: Connections, emit: Emit) -> None:
        self._manager = manager
        self._connections = connections
        self._emit = emit
        self._stopping = False
        manager.add_listener(self)
        manager.on_command(self.command)

    def stopping(self) -> None:
        """The server is stopping: exits from now on say so (``reason: "shutdown"``)."""
        self._stopping = True

    def session_exited(self, session: PtySession) -> None:
        """Tell the owner's connections that the shell ended.

        Not when it ended only because the server stops and the next server revives it under
        the same id: pages then just lose the connection and reconnect to the revived one.
        """
        self._connections.forget(session.id)
        if self._stopping and self._manager.is_kept(session):
            return
        payload: dict[str, Any] = {"session_id": session.id, "exit_code": session.exit_code}
        if self._stopping:
            payload["reason"] = protocol.EXIT_REASON_SHUTDOWN
        self._emit(protocol.EXIT, payload, room(session.owner))

    def command(self, session: PtySession, record: CommandRecord, finished: bool) -> None:
        """Tell the owner's connections that a command started or finished."""
        payload: protocol.CommandEvent = {
            "session_id": session.id,
            "event": protocol.COMMAND_FINISHED if finished else protocol.COMMAND_STARTED,
            "command": protocol.command_info(record),
        }
        self._emit(protocol.COMMAND, dict(payload), room(session.owner))

    def sessions_changed(self, owner: str) -> None:
        """Ask the owner's connections to re-list."""
        self._emit(protocol.CHANGED, {}, room(owner))

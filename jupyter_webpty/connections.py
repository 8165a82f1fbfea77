"""Who is connected: each Socket.IO connection's owner and the sessions it is attached to."""

from __future__ import annotations

from . import protocol


def room(owner: str) -> str:
    """The Socket.IO room of ``owner``'s connections (list changes, exits, commands)."""
    return f"owner:{owner}"


class Connections:
    """Each connection's owner, and the sessions to detach it from when it ends.

    The sessions keep their own record of who is attached (``PtySession.is_attached``); this
    one only serves the end of a connection and of a session.
    """

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}  # sid -> owner
        self._attached: dict[str, set[str]] = {}  # sid -> session ids

    def add(self, sid: str, owner: str) -> None:
        """``sid`` connected as ``owner``, attached to nothing yet."""
        self._owners[sid] = owner
        self._attached[sid] = set()

    def remove(self, sid: str) -> tuple[str | None, set[str]]:
        """``sid`` disconnected: its owner (None if unknown) and the sessions it was attached to."""
        return self._owners.pop(sid, None), self._attached.pop(sid, set())

    def owner(self, sid: str) -> str:
        """The owner ``sid`` connected as."""
        owner = self._owners.get(sid)
        if owner is None:
            msg = "connection is not authenticated"
            raise protocol.ProtocolError(msg)
        return owner

    def attach(self, sid: str, session_id: str) -> None:
        """``sid`` now receives ``session_id``'s output."""
        self._attached.setdefault(sid, set()).add(session_id)

    def detach(self, sid: str, session_id: str) -> None:
        """``sid`` no longer receives ``session_id``'s output."""
        self._attached.get(sid, set()).discard(session_id)

    def forget(self, session_id: str) -> None:
        """``session_id`` ended: no connection is attached to it any more."""
        for sessions in self._attached.values():
            sessions.discard(session_id)

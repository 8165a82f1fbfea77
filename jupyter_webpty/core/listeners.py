"""Who hears about sessions: exits, list changes and commands (the transport, the audit log).

Each listener's failure is its own: it is logged, and the others still hear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from .marks import CommandRecord
    from .session import PtySession

log = logging.getLogger(__name__)


class Listener(Protocol):
    """Who hears about sessions ending and lists changing (the transport)."""

    def session_exited(self, session: PtySession) -> None:
        """``session`` ended by itself or was closed; it is no longer listed."""

    def sessions_changed(self, owner: str) -> None:
        """``owner``'s list of sessions changed."""


#: ``callback(session, record, finished)``: a command started or finished (``marks.py``).
CommandListener = Callable[["PtySession", "CommandRecord", bool], None]


class Listeners:
    """The listeners of one manager, told in the order they were added."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._commands: list[CommandListener] = []

    def add(self, listener: Listener) -> None:
        """Tell ``listener`` about exits and list changes."""
        self._listeners.append(listener)

    def on_command(self, callback: CommandListener) -> None:
        """Call ``callback(session, record, finished)`` when a command starts or finishes."""
        self._commands.append(callback)

    def exited(self, session: PtySession) -> None:
        """``session`` ended."""
        for listener in self._listeners:
            try:
                listener.session_exited(session)
            except Exception:
                log.exception("listener failed on exit of %s", session.id)

    def changed(self, owner: str) -> None:
        """``owner``'s list of sessions changed."""
        for listener in self._listeners:
            try:
                listener.sessions_changed(owner)
            except Exception:
                log.exception("listener failed on a change for %s", owner)

    def command(self, session: PtySession, record: CommandRecord, finished: bool) -> None:
        """A command of ``session`` started or finished."""
        for callback in self._commands:
            try:
                callback(session, record, finished)
            except Exception:
                log.exception("command listener failed for terminal %s", session.id)

"""Sessions across server restarts: what the revival store and the PTY host hear of them.

The manager (``manager.py``) keeps the registry: ids, names, limits, lookups. This part tells the
revival store (``revive.py``) and the PTY host's policy (``hosting.py``) what becomes of each
session (started, renamed, ended), brings back what a previous server left (``comeback.py``),
and at shutdown lets the host keep its shells and ends the others, each saved for the next server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import _spawn
from .comeback import Comeback
from .hostclient import Adopted
from .hosting import Hosting
from .revive import SavedSession, SessionStore, restored_line

if TYPE_CHECKING:  # pragma: no cover
    from .manager import SessionManager
    from .session import PtySession

log = logging.getLogger(__name__)


class Continuity:
    """Carries the manager's ``sessions()`` over a server restart, through the revival
    ``store`` (None: revival is off) and the PTY host (``hosting``)."""

    def __init__(
        self,
        store: SessionStore | None,
        hosting: Hosting,
        sessions: Callable[[], Iterable[PtySession]],
    ) -> None:
        self.store = store
        self.hosting = hosting
        self._sessions = sessions
        self._stopping = False

    # -- each session --------------------------------------------------------------------------
    def starting(
        self, session: PtySession, cwd: str, saved: SavedSession | None, adopted: Adopted | None
    ) -> None:
        """``session`` (in ``cwd``) is about to start: a new shell, one revived from ``saved``,
        or one ``adopted`` from the PTY host. A session that comes back gets its creation time,
        a revived one a line saying so; each is saved for a later server from now on."""
        if saved is not None:
            session.created_at = saved.created_at
        if adopted is not None:
            session.created_at = float(adopted.meta.get("created_at", session.created_at))
        if self.store is not None:
            if adopted is not None:  # the log on disk ends where the tail starts, if they meet
                kept = session.end - len(adopted.tail)
                self.store.track(session, log_end=kept)
                self.store.extend(session.id, adopted.tail, session.end)
            else:
                self.store.track(session, revived=saved is not None)
        if saved is not None and adopted is None:
            session.note(restored_line(saved, cwd))

    def start_failed(self, session: PtySession) -> None:
        """``session`` did not start: save nothing of it."""
        if self.store is not None:
            self.store.forget(session.id)

    def renamed(self, session: PtySession, name: str) -> None:
        """``session`` is called ``name`` now: the store and the host's copy say so too."""
        if self.store is not None:
            self.store.changed(session)
        self.hosting.renamed(session, name)

    def ended(self, session: PtySession) -> None:
        """``session`` ended: unless the server stops, no later server brings it back."""
        if self.store is not None and not self._stopping:
            self.store.forget(session.id)  # closed, culled or exited by itself: never revived
        if self.hosting.keeps(session):
            self.hosting.forget(session.id)

    def is_kept(self, session: PtySession) -> bool:
        """Whether ``session`` ended only because the server stops, and a later one revives it."""
        return self._stopping and self.store is not None

    # -- server start and stop -----------------------------------------------------------------
    def revive(self, manager: SessionManager) -> list[PtySession]:
        """Bring back what a previous server on this root left: the PTY host's shells, adopted,
        and a new shell for each other saved session (``comeback.py``)."""
        adopted = self.hosting.take_adopted()
        saved = self.store.load() if self.store is not None else []
        sessions = Comeback(manager, adopted, saved).run()
        for owner in {s.owner for s in sessions}:
            manager.notify_changed(owner)
        return sessions

    async def close_all(self) -> None:
        """Server shutdown: let the PTY host keep its shells, terminate every other one.

        Either way each session stays saved for revival (or, kept by the host, for adoption).
        """
        self._stopping = True
        kept = self.hosting.persisting(self._sessions())
        ends = {session.id: await session.release() for session in kept}
        sessions = [s for s in self._sessions() if s.is_alive and s not in kept]
        results = await asyncio.gather(*(s.terminate() for s in sessions), return_exceptions=True)
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, BaseException):
                log.error("closing terminal %s failed: %s", session.id, result)
        # After the shells ended: what they printed last was sent to pages, so it is saved too
        # (a page's offset then never points past the saved end).
        self._stop_saving()
        self.hosting.detach(ends)  # after the store: the host reads on from these offsets

    def close_all_blocking(self, kill_grace: float) -> int:
        """End every live session without an event loop (interpreter exit); return how many.

        A server that exits through ``KeyboardInterrupt`` (SIGINT where the extension could not
        route it to the server's stop, e.g. an embedded server) never runs ``stop_extension``;
        an ``atexit`` hook calls this. All sessions go through one ladder together, as
        ``close_all`` does, ``kill_grace`` seconds before SIGKILL.
        """
        kept = self.hosting.persisting(self._sessions())
        self._stop_saving()
        # No loop to quiesce readers on: stop at the offsets reached (the store saved that far).
        self.hosting.detach({session.id: session.end for session in kept})
        shells = [
            s.pid for s in self._sessions() if s.is_alive and s.pid is not None and s not in kept
        ]
        _spawn.end_sessions_blocking(shells, kill_grace)
        for pid in shells:
            _spawn.wait(pid)
        return len(shells)

    def _stop_saving(self) -> None:
        self._stopping = True
        if self.store is not None:
            try:
                self.store.stop()
            except Exception:  # the shells must end all the same
                log.exception("saving sessions for revival failed")

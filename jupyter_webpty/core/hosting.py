"""The PTY host as the manager uses it: where new shells start, and which shells it keeps.

``host.py`` is the host process and ``hostclient.py`` the connection to it; this is the policy
around them. The shells a host kept are adopted once, at start. A host that died is replaced
for new shells, at most one attempt per ``HOST_RETRY`` seconds; until one starts, shells start
in the server. The shells of a dead host keep running on the server's copy of their terminal,
but no longer survive a restart: they end with the server and are revived (``persisting``
leaves them out).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from . import _spawn
from .hostclient import Adopted, HostClient

log = logging.getLogger(__name__)

#: Seconds between attempts to start a new PTY host after the last one died.
HOST_RETRY = 10.0


class Hosted(Protocol):
    """What the policy needs of a session (``PtySession`` is one)."""

    id: str

    @property
    def spawner(self) -> _spawn.Spawner:
        """Who started the shell."""

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""


S = TypeVar("S", bound=Hosted)


class Hosting:
    """The manager's PTY host (None: shells are the server's and end with it)."""

    def __init__(self, client: HostClient | None, *, tail_cap: int) -> None:
        #: The current host; None when there is none, or it refused this server.
        self.client = client
        self._retry = -HOST_RETRY
        self._adopted: list[Adopted] = []
        if client is not None:
            client.tail_cap = tail_cap
            try:
                self._adopted = client.adopt()
            except OSError as exc:
                log.error("the PTY host refused this server (%s); shells will not persist", exc)
                client.close()
                self.client = None

    def take_adopted(self) -> list[Adopted]:
        """The shells the host kept for this server (once; later calls get none)."""
        adopted, self._adopted = self._adopted, []
        return adopted

    @property
    def is_lost(self) -> bool:
        """Whether the host died under this server (``spawner`` may then start another)."""
        return self.client is not None and self.client.lost

    def spawner(self) -> HostClient | None:
        """The host to spawn through: the current one, or a new one if it died (at most one
        attempt per ``HOST_RETRY`` seconds); None: spawn here (shells end with the server)."""
        host = self.client
        if host is None or not host.lost:
            return host
        now = time.monotonic()
        if now - self._retry < HOST_RETRY:
            return None
        self._retry = now
        try:
            self.client = host.restart()
        except OSError as exc:
            log.error("the PTY host is gone and a new one did not start (%s)", exc)
            return None
        self.client.tail_cap = host.tail_cap
        log.warning(
            "the PTY host was gone; new shells live in a new one (%d)", self.client.info.pid
        )
        return self.client

    def keeps(self, session: Hosted) -> bool:
        """Whether the current host started ``session``'s shell (and keeps a copy of it)."""
        return self.client is not None and session.spawner is self.client

    def persisting(self, sessions: Iterable[S]) -> list[S]:
        """The live ``sessions`` a live host keeps through a server restart."""
        host = self.client
        if host is None or not host.is_alive():
            return []
        return [s for s in sessions if s.is_alive and s.spawner is host]

    def renamed(self, session: Hosted, name: str) -> None:
        """Keep the host's copy of the name (for a later server without a revival store)."""
        if self.client is not None and session.spawner is self.client:
            self.client.update(session.id, {"name": name})

    def forget(self, session_id: str) -> None:
        """The server is done with the shell: the host closes its copy and lets it go."""
        if self.client is not None:
            self.client.forget(session_id)

    def detach(self, ends: Mapping[str, int]) -> None:
        """Server shutdown: tell the host where each stream stands (it reads on from there)."""
        if self.client is not None:
            self.client.detach(ends)

"""Culling: closing detached sessions that stayed idle too long (``cull_inactive_timeout``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

log = logging.getLogger(__name__)


class Cullable(Protocol):
    """What the culler needs of a session (``PtySession`` is one)."""

    id: str
    last_activity: float

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""

    @property
    def clients(self) -> int:
        """Number of attached viewers."""

    def terminate(self) -> Awaitable[int]:
        """End the session."""


class Culler:
    """Every ``timeout / 4`` seconds (0.25 to 60), closes detached sessions idle over ``timeout``.

    A session is idle while it has neither input nor output; an attached one is never culled.
    """

    def __init__(self, timeout: float, sessions: Callable[[], Iterable[Cullable]]) -> None:
        self.timeout = timeout
        self._sessions = sessions
        self._handle: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Future[int]] = set()

    def start(self) -> None:
        """Start the timer on the running loop (no-op when started or when ``timeout`` is 0)."""
        if self.timeout > 0 and self._handle is None:
            interval = min(max(self.timeout / 4, 0.25), 60.0)
            self._handle = asyncio.get_running_loop().call_later(interval, self._cull)

    def stop(self) -> None:
        """Stop the timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _cull(self) -> None:
        self._handle = None
        now = time.time()
        for session in list(self._sessions()):
            # Per session: one failing close must not stop the sweep (terminals' _cull_terminals).
            try:
                idle = now - session.last_activity
                if session.is_alive and session.clients == 0 and idle > self.timeout:
                    log.info("culling terminal %s idle for %.0f s", session.id, idle)
                    task = asyncio.ensure_future(session.terminate())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
            except Exception:
                log.exception("culling terminal %s failed", session.id)
        with contextlib.suppress(RuntimeError):
            self.start()

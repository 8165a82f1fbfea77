"""The server-wide budget of retained output: who gives up scrollback when all retain too much."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

#: What the budget leaves each session at least: a screen or two to restore.
MIN_RETAINED = 64 * 1024


class Retaining(Protocol):
    """What the budget needs of a session (``PtySession`` is one)."""

    @property
    def is_alive(self) -> bool:
        """Whether the session still runs."""

    @property
    def clients(self) -> int:
        """Number of attached viewers."""

    @property
    def last_activity(self) -> float:
        """Time of the last input or output."""

    @property
    def retained_bytes(self) -> int:
        """Output the session retains."""

    def trim_retained(self, keep: int) -> int:
        """Keep about ``keep`` bytes; return the bytes freed."""


class RetentionBudget:
    """Keeps the output retained by all ``sessions()`` together within ``limit`` bytes (0: none).

    Sessions report each change of their retained size (``change``, called per read: one
    addition, and the trimming only once the budget is exceeded).
    """

    def __init__(self, limit: int, sessions: Callable[[], Iterable[Retaining]]) -> None:
        self.limit = limit
        self.total = 0  # output retained by all live sessions
        self._sessions = sessions

    def change(self, delta: int) -> None:
        """A session's retained output grew or shrank by ``delta`` bytes."""
        self.total += delta
        if self.limit and self.total > self.limit:
            self.enforce()

    def forget(self, session: Retaining) -> None:
        """``session`` ended: what it retained no longer counts."""
        self.total -= session.retained_bytes

    def enforce(self) -> None:
        """Trim scrollback until all sessions together retain at most ~90 % of the budget.

        Detached sessions give up their oldest output first, least recently active first:
        nobody watches them, and a resume then shows their screen (restore points permitting)
        rather than all of their history. Attached sessions follow only when that is not
        enough. Each session keeps at least ``MIN_RETAINED`` bytes. The 10 % headroom makes
        the sort here rare: one per tenth of the budget of new output.
        """
        target = self.limit - self.limit // 10
        victims = sorted(
            (s for s in self._sessions() if s.is_alive),
            key=lambda s: (s.clients > 0, s.last_activity),
        )
        for session in victims:
            excess = self.total - target
            if excess <= 0:
                break
            size = session.retained_bytes
            keep = max(MIN_RETAINED, size - excess)
            if keep < size:
                self.total -= session.trim_retained(keep)

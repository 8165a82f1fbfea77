"""The manager's parts on their own: the retained-output budget and the culler, on fake sessions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from jupyter_webpty.core.budget import MIN_RETAINED, RetentionBudget
from jupyter_webpty.core.culling import Culler

from ..conftest import wait_until


@dataclass
class FakeSession:
    """Just what the budget and the culler read of a session."""

    id: str
    retained_bytes: int = 0
    clients: int = 0
    last_activity: float = field(default_factory=time.time)
    is_alive: bool = True
    terminated: bool = False

    def trim_retained(self, keep: int) -> int:
        freed = max(0, self.retained_bytes - keep)
        self.retained_bytes -= freed
        return freed

    async def terminate(self) -> int:
        self.terminated = True
        self.is_alive = False
        return 0


def test_the_budget_trims_detached_idle_sessions_first_and_keeps_a_screen_each() -> None:
    now = time.time()
    old = FakeSession("old", last_activity=now - 100)
    recent = FakeSession("recent", last_activity=now - 10)
    watched = FakeSession("watched", clients=1, last_activity=now - 1000)
    sessions = [old, recent, watched]
    budget = RetentionBudget(1_000_000, lambda: sessions)
    for session in sessions:
        session.retained_bytes = 300_000
        budget.change(300_000)
    assert budget.total == 900_000  # within budget: nothing trimmed
    recent.retained_bytes += 200_000
    budget.change(200_000)  # 1.1 MB: trim down to 900 kB, the oldest detached one first
    assert budget.total == sum(s.retained_bytes for s in sessions) == 900_000
    assert old.retained_bytes == 100_000
    assert recent.retained_bytes == 500_000
    assert watched.retained_bytes == 300_000
    watched.retained_bytes += 900_000
    budget.change(900_000)  # detached ones down to a screen or two, then the attached one
    assert old.retained_bytes == recent.retained_bytes == MIN_RETAINED
    assert budget.total == sum(s.retained_bytes for s in sessions) == 900_000
    budget.forget(old)
    assert budget.total == recent.retained_bytes + watched.retained_bytes


def test_no_budget_trims_nothing() -> None:
    session = FakeSession("s")
    budget = RetentionBudget(0, lambda: [session])
    session.retained_bytes = 10**9
    budget.change(10**9)
    assert session.retained_bytes == 10**9


async def test_the_culler_closes_idle_detached_sessions_only() -> None:
    now = time.time()
    idle = FakeSession("idle", last_activity=now - 10)
    watched = FakeSession("watched", clients=1, last_activity=now - 10)
    busy = FakeSession("busy")
    culler = Culler(1.0, lambda: [idle, watched, busy])
    culler.start()
    try:
        await wait_until(lambda: idle.terminated, 5, "the idle session culled")
        assert not watched.terminated
        assert not busy.terminated
    finally:
        culler.stop()


async def test_a_zero_timeout_never_culls() -> None:
    idle = FakeSession("idle", last_activity=0)
    culler = Culler(0, lambda: [idle])
    culler.start()
    assert culler._handle is None
    await asyncio.sleep(0)
    assert not idle.terminated

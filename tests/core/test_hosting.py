"""``Hosting``, the manager's PTY-host policy, against real host processes (no manager, no shell)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_webpty.core import _spawn
from jupyter_webpty.core.hostclient import HostClient, stop_host
from jupyter_webpty.core.hosting import Hosting

from ..conftest import wait_until


@dataclass
class Session:
    """What the policy looks at in a session."""

    id: str
    spawner: _spawn.Spawner
    is_alive: bool = True


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    """A host directory; whatever host runs there is stopped after the test."""
    (tmp_path / "root").mkdir()
    yield tmp_path / "host"
    stop_host(tmp_path / "host")


def start(directory: Path) -> HostClient:
    return HostClient.start(directory, str(directory.parent / "root"), idle_timeout=60)


async def kill(client: HostClient) -> None:
    os.kill(client.info.pid, signal.SIGKILL)
    await wait_until(lambda: not _spawn.signalable(client.info.pid), 10, "the host gone")


def test_without_a_host_shells_are_the_servers() -> None:
    hosting = Hosting(None, tail_cap=1024)
    session = Session("a", _spawn.LOCAL)
    assert hosting.spawner() is None
    assert not hosting.is_lost
    assert not hosting.keeps(session)
    assert hosting.persisting([session]) == []
    assert hosting.take_adopted() == []


async def test_a_dead_host_is_replaced_at_most_once_per_retry_period(directory: Path) -> None:
    first = start(directory)
    hosting = Hosting(first, tail_cap=1024)
    assert first.tail_cap == 1024
    assert hosting.take_adopted() == []
    kept, local = Session("a", first), Session("b", _spawn.LOCAL)
    assert hosting.spawner() is first
    assert hosting.persisting([kept, local]) == [kept]
    await kill(first)
    assert hosting.persisting([kept, local]) == []  # it asked: the host is gone
    assert hosting.is_lost
    second = hosting.spawner()
    assert second is not None
    assert second.info.pid != first.info.pid
    assert second.tail_cap == 1024
    assert hosting.keeps(Session("c", second))
    assert not hosting.keeps(kept)  # the dead host's shells end with the server
    await kill(second)
    assert not second.is_alive()
    assert hosting.spawner() is None  # too soon after the last attempt: shells start here


def test_a_host_that_serves_another_server_is_refused_and_not_used(directory: Path) -> None:
    serving = Hosting(start(directory), tail_cap=1024)
    assert serving.client is not None
    second = Hosting(start(directory), tail_cap=1024)
    assert second.client is None
    assert second.spawner() is None
    assert serving.client.call({"op": "list"})["attached"]

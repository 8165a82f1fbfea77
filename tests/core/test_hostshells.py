"""``Shells``, the PTY host's shells, on real PTYs and a real selector: no host process, no socket."""

from __future__ import annotations

import os
import selectors
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_webpty.core import _spawn
from jupyter_webpty.core.hostshells import Shell, Shells

from ..processes import zombies_of

BASH = shutil.which("bash") or "/bin/bash"


@pytest.fixture
def shells() -> Iterator[Shells]:
    selector = selectors.DefaultSelector()
    shells = Shells(selector)
    yield shells
    shells.end_all(grace=0.2)
    selector.close()


def spawn(shells: Shells, script: str, tmp_path: Path, cap: int = 4096) -> Shell:
    child = _spawn.spawn(_spawn.Launch(
        [BASH, "--norc", "--noprofile", "-c", script], str(tmp_path),
        {"PATH": os.environ["PATH"]}, 80, 24,
    ))  # fmt: skip
    return shells.add("s1", child, {"name": "one"}, cap)


def pump(shells: Shells, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the host loop's part for shells until ``until()`` (with a deadline)."""
    selector = shells._selector
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out"
        for key, _ in selector.select(timeout=0.1):
            kind, shell = key.data
            if kind == "pty":
                shells.drain(shell)
            else:
                shells.exited(shell)


def test_output_is_kept_up_to_the_cap_and_handed_over_once(shells: Shells, tmp_path: Path) -> None:
    shell = spawn(shells, "head -c 100000 /dev/zero | tr '\\0' x; echo END; read go", tmp_path)
    shells.watch(shell)
    pump(shells, lambda: b"END" in shell.tail)
    assert len(shell.tail) == 4096  # the cap: the oldest output went
    printed = shell.away
    assert printed >= 100_000
    shell.end = 1234  # as a clean detach says
    tail, away, end = shells.hand_over(shell)
    assert tail.rstrip().endswith(b"xEND")
    assert away >= printed
    assert end == 1234
    assert (bytes(shell.tail), shell.away, shell.end) == (b"", 0, None)
    assert shells.live_count() == 1


def test_a_shell_that_exits_while_watched_is_reaped_with_its_last_words(
    shells: Shells, tmp_path: Path
) -> None:
    shell = spawn(shells, "read go; echo bye; exit 4", tmp_path)
    shells.watch(shell)
    assert shell.fd is not None
    os.write(shell.fd, b"go\n")
    pump(shells, lambda: shell.exit_code is not None)
    assert shell.exit_code == 4
    assert b"bye" in shell.tail
    assert (shell.fd, shell.pidfd) == (None, None)
    assert shells.live_count() == 0
    assert zombies_of(os.getpid()) == []
    assert shells.remove("s1") is shell
    assert shells.get("s1") is None


def test_ending_all_ends_and_collects_every_shell(shells: Shells, tmp_path: Path) -> None:
    shell = spawn(shells, "exec sleep 100", tmp_path)
    assert shells.end_all(grace=0.2) == 1
    assert shell.exit_code is not None
    assert len(shells) == 0
    assert zombies_of(os.getpid()) == []

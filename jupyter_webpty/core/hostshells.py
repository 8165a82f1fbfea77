"""The shells a PTY host keeps (``host.py``), and what they print while no server reads them.

While a server is attached it reads every terminal itself (the host handed it a copy of each
PTY master) and asks the host to reap. While none is, the host must read on (a PTY holds about
17 KB: a printing program would block) into a tail bounded by the session's scrollback, and
reap shells that exit, remembering their exit code for the next server. ``Shells`` does both
through the host's selector; the host's loop calls ``drain`` and ``exited`` when it says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import _spawn

log = logging.getLogger("jupyter_webpty.host")

#: Most bytes read from one terminal at a time.
READ_LIMIT = 1 << 20


@dataclass
class Shell:
    """One shell the host keeps."""

    id: str
    pid: int
    fd: int | None
    pidfd: int | None
    meta: dict[str, Any]
    cap: int  # most bytes of tail kept while no server reads
    exit_code: int | None = None
    end: int | None = None  # stream offset the last server reached (a clean detach says it)
    away: int = 0  # bytes read while no server was attached
    tail: bytearray = field(default_factory=bytearray)

    def keep(self, data: bytes) -> None:
        """Add ``data`` to the tail, dropping its oldest bytes past ``cap``."""
        self.away += len(data)
        self.tail += data
        if len(self.tail) > self.cap:
            del self.tail[: len(self.tail) - self.cap]

    def close_fds(self) -> None:
        """Close the host's copy of the PTY master and the pidfd."""
        for fd in (self.fd, self.pidfd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fd = self.pidfd = None


class Shells:
    """The host's shells by session id, watched through ``selector`` while no server is."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector
        self._shells: dict[str, Shell] = {}

    def __len__(self) -> int:
        return len(self._shells)

    def __iter__(self) -> Iterator[Shell]:
        return iter(list(self._shells.values()))

    def get(self, session_id: str) -> Shell | None:
        """The shell of that session, if the host keeps one."""
        return self._shells.get(session_id)

    def live_count(self) -> int:
        """Shells that have not exited."""
        return sum(1 for s in self._shells.values() if s.exit_code is None)

    def add(self, session_id: str, child: _spawn.Child, meta: dict[str, Any], cap: int) -> Shell:
        """Keep a shell just spawned (``_spawn.spawn``), its tail bounded by ``cap`` bytes."""
        shell = Shell(session_id, child.pid, child.fd, child.pidfd, meta, cap)
        self._shells[session_id] = shell
        return shell

    def watch(self, shell: Shell) -> None:
        """Read ``shell``'s output and reap it when it exits, until a server adopts it."""
        if shell.fd is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.register(shell.fd, selectors.EVENT_READ, ("pty", shell))
        if shell.pidfd is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.register(shell.pidfd, selectors.EVENT_READ, ("exit", shell))

    def unwatch(self, shell: Shell) -> None:
        """Stop reading ``shell``'s output and waiting for its exit (a server does)."""
        for fd in (shell.fd, shell.pidfd):
            if fd is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(fd)

    def drain(self, shell: Shell) -> None:
        """Read what ``shell``'s terminal holds into its tail (the selector said it has some)."""
        if shell.fd is None:
            return
        try:
            data, eof = _spawn.read_ready(shell.fd, READ_LIMIT)
        except OSError:
            data, eof = b"", True
        if data:
            shell.keep(data)
        if eof:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(shell.fd)

    def exited(self, shell: Shell) -> None:
        """Reap ``shell`` (its pidfd said it exited), keeping what it printed last."""
        code = _spawn.reap(shell.pid)
        if code is None:
            return
        self.unwatch(shell)
        if shell.fd is not None:  # what it printed last
            with contextlib.suppress(OSError):
                data, _ = _spawn.read_available(shell.fd, shell.cap)
                shell.keep(data)
        shell.exit_code = code
        shell.close_fds()
        log.info("shell %s exited with %s while no server was attached", shell.id, code)

    def hand_over(self, shell: Shell) -> tuple[bytes, int, int | None]:
        """What a server adopting ``shell`` gets: the tail (what was kept, and what waits in
        the PTY), the bytes printed while no server read, and the offset the last one reached.

        From here the server reads the terminal; the tail and the counts start afresh.
        """
        self.unwatch(shell)
        if shell.fd is not None:  # read what is waiting: the server starts after it
            with contextlib.suppress(OSError):
                data, _ = _spawn.read_ready(shell.fd, READ_LIMIT)
                shell.keep(data)
        handed = bytes(shell.tail), shell.away, shell.end
        shell.tail.clear()
        shell.away = 0
        shell.end = None
        return handed

    def remove(self, session_id: str) -> Shell | None:
        """Stop keeping the shell: unwatched, its descriptors closed, reaped if it ended."""
        shell = self._shells.pop(session_id, None)
        if shell is not None:
            self.unwatch(shell)
            shell.close_fds()
            if shell.exit_code is None:  # the server is done with it; collect it if it ended
                shell.exit_code = _spawn.reap(shell.pid)
        return shell

    def end_all(self, grace: float = 1.0) -> int:
        """End every shell with the closing ladder and reap them; return how many ran."""
        live = [s for s in self._shells.values() if s.exit_code is None]
        _spawn.end_sessions_blocking([s.pid for s in live], grace)
        for shell in live:
            shell.exit_code = _spawn.wait(shell.pid)
        for shell in self._shells.values():
            self.unwatch(shell)
            shell.close_fds()
        self._shells.clear()
        return len(live)

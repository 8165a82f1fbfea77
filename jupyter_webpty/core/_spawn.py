"""POSIX process plumbing: spawn on a PTY, the child's environment, and process-tree signals.

Everything here is synchronous; the asyncio parts live in ``process.py``, ``reading.py``,
``ending.py`` and ``reaper.py``.

ptyprocess does the fork (``PtyProcess.spawn``, public) but not the reading: ``spawn`` takes its
fd and relies on these details of ``PtyProcess`` (ptyprocess 0.7), pinned by
``tests/test_fastpath_contract.py``:

* ``.fd``, the PTY master, which we ``dup`` to own it (non-blocking, close-on-exec);
* ``.fileobj``, the file object over ``.fd``, closed at once so only our copy stays open;
* ``.closed``, set to True by hand: ``PtyProcess.__del__`` calls ``close()`` unless it is set,
  and ``close()`` sleeps ``delayafterclose`` (0.1 s) on the event loop, then signals the child,
  whose end is ours to manage (the signal ladder below).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import SpawnError

#: Dispositions a server started from a script may have set to SIG_IGN (``nohup``, ``&`` in a
#: non-interactive shell); ptyprocess keeps them, which would break Ctrl+C in every shell.
_RESET_SIGNALS = tuple(
    getattr(signal, name)
    for name in (
        "SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGCHLD", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGXFSZ", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGWINCH",
    )
    if hasattr(signal, name)
)  # fmt: skip


@dataclass(frozen=True)
class Launch:
    """What a shell is started with: the command, its directory and environment, the
    terminal's size, and the session's metadata (owner, name, creation time) that a PTY host
    keeps beside the shell."""

    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    cols: int
    rows: int
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Child:
    """A spawned child: its pid, the PTY master fd (non-blocking, close-on-exec), a pidfd."""

    pid: int
    fd: int
    pidfd: int | None


class Spawner(Protocol):
    """Who starts shells and collects their exit: this process, or the PTY host (host.py)."""

    def spawn(self, session_id: str, launch: Launch) -> Child:
        """Start ``launch``'s command on a new PTY (raises ``SpawnError``)."""

    def reap(self, session_id: str, pid: int) -> int | None:
        """The exit code once the shell exited, else None (never waits)."""

    def wait(self, session_id: str, pid: int) -> int:
        """Wait for the shell to exit; its exit code (blocking: call it off the loop)."""


class LocalSpawner:
    """Shells as children of this process."""

    def spawn(self, session_id: str, launch: Launch) -> Child:
        """``spawn`` below."""
        return spawn(launch)

    def reap(self, session_id: str, pid: int) -> int | None:
        """``reap`` below."""
        return reap(pid)

    def wait(self, session_id: str, pid: int) -> int:
        """``wait`` below."""
        return wait(pid)


LOCAL = LocalSpawner()


def _reset_child_signals() -> None:  # runs in the forked child, before exec
    for sig in _RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def child_env(base: Mapping[str, str], cols: int, rows: int) -> dict[str, str]:
    """The environment of a shell: ``base`` (extra_env already merged) and the terminal's own."""
    env = dict(base)
    # Variables of the server's own terminal or of Jupyter's kernel plumbing mislead a shell.
    for name in ("COLUMNS", "LINES", "TERM_PROGRAM", "JPY_PARENT_PID", "JPY_SESSION_NAME"):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    env.setdefault("COLORTERM", "truecolor")
    env["COLUMNS"] = str(cols)
    env["LINES"] = str(rows)
    env.setdefault("LANG", "C.UTF-8")
    return env


def spawn(launch: Launch) -> Child:
    """Start ``launch``'s command as a session leader on a new PTY of its size (this process
    is its parent; ``launch.meta`` is not used here)."""
    from ptyprocess import PtyProcess  # noqa: PLC0415 - only the spawner needs it

    argv = list(launch.argv)
    try:
        process = PtyProcess.spawn(
            argv,
            cwd=launch.cwd,
            env=dict(launch.env),
            dimensions=(launch.rows, launch.cols),
            preexec_fn=_reset_child_signals,
        )
    except (OSError, ValueError) as exc:
        raise SpawnError(argv, str(exc)) from exc
    except Exception as exc:  # ptyprocess re-raises child errors as bare Exception
        raise SpawnError(argv, str(exc)) from exc
    # We own the fd from here: stop ptyprocess from closing it (its close() sleeps and blocks).
    fd = os.dup(process.fd)
    process.fileobj.close()
    process.closed = True
    os.set_inheritable(fd, False)
    os.set_blocking(fd, False)
    pidfd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(process.pid)
    return Child(pid=process.pid, fd=fd, pidfd=pidfd)


def get_size(fd: int) -> tuple[int, int]:
    """The PTY's window size as (cols, rows)."""
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return cols, rows


def set_size(fd: int, cols: int, rows: int) -> None:
    """Set the PTY window size; the kernel sends SIGWINCH to the foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


#: Signals of the closing ladder, each with whether SIGCONT follows (stopped jobs must run to
#: die). SIGKILL comes back twice: a member forked just before the first one was not in its scan.
LADDER = (
    (signal.SIGHUP, True),
    (signal.SIGTERM, True),
    (signal.SIGKILL, False),
    (signal.SIGKILL, False),
    (signal.SIGKILL, False),
)
#: How often a ladder step checks whether the signalled processes are gone (seconds).
TICK = 0.01


def climb(pids: Sequence[int], sig: int, with_cont: bool) -> None:
    """One step of ``LADDER``: ``sig`` to each pid, then SIGCONT if the step says so.

    The one place that signals a step, for both ladders (``Reaper.end_session`` on the loop,
    ``end_sessions_blocking`` at interpreter exit); they differ only in how they wait.
    """
    signal_members(pids, sig)
    if with_cont:
        signal_members(pids, signal.SIGCONT)


def sessions_members(sids: Collection[int]) -> dict[int, list[int]]:
    """One pass over /proc: the pids whose session id is in ``sids``, per session.

    A session's members are its shell, its jobs and ``nohup``-ed children. Processes that called
    ``setsid`` (or double-forked into a new session) are not found: they deliberately left the
    terminal, like a daemon started from it. Linux lists a session's processes no other way, and
    a pass costs about 11 us per process on this machine (with os.open; pathlib took five times
    as long), so callers share passes rather than make one each.
    """
    wanted = {str(sid).encode(): sid for sid in sids}
    found: dict[int, list[int]] = {sid: [] for sid in sids}
    for pid in _pids():
        stat = _stat_fields(pid)
        if stat is not None and stat[3] in wanted:
            found[wanted[stat[3]]].append(pid)
    return found


def still_members(pids: Iterable[int], sid: int) -> list[int]:
    """Those of ``pids`` still alive in session ``sid``: one read each, no pass over /proc."""
    sid_bytes = str(sid).encode()
    return [pid for pid in pids if (stat := _stat_fields(pid)) is not None and stat[3] == sid_bytes]


def _pids() -> Iterator[int]:
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):  # noqa: PTH208 - a hot loop: no Path per entry
            if name.isdigit():
                yield int(name)


def _stat_fields(pid: int) -> list[bytes] | None:
    """State, parent, process group and session of a live process; None for gone or zombie."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = os.read(fd, 1024)
    except OSError:
        return None
    finally:
        os.close(fd)
    # The command may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split(maxsplit=4)
    if len(fields) < 4 or fields[0] == b"Z":  # zombies are dead already
        return None
    return fields[:4]


def signalable(pid: int) -> bool:
    """Whether ``pid`` exists (a zombie too): ``kill(pid, 0)``, another user's counting."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_members(pids: Sequence[int], sig: int) -> None:
    """Send ``sig`` to each pid, ignoring those that are already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def end_sessions_blocking(sids: Collection[int], grace: float) -> None:
    """The closing ladder over every member of all ``sids`` at once, waiting ``grace`` per step.

    The blocking twin of ``Reaper.end_session``, for interpreter exit when no event loop runs any
    more. One ladder for all: one session after the other took two graces per stubborn session.
    """
    for sig, with_cont in LADDER:
        members = sessions_members(sids)
        if not any(members.values()):
            return
        for pids in members.values():
            climb(pids, sig, with_cont)
        deadline = time.monotonic() + grace
        while any(members.values()) and time.monotonic() < deadline:
            time.sleep(TICK)
            members = {sid: still_members(pids, sid) for sid, pids in members.items()}


def reap(pid: int) -> int | None:
    """Collect ``pid`` if it has exited; return its exit code (negative: signal) or None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def wait(pid: int) -> int:
    """Wait for ``pid`` to exit and collect it (blocking); its exit code, -1 if not ours."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status)


def foreground_command(fd: int) -> str | None:
    """The name of the terminal's foreground process group leader, read live from /proc."""
    try:
        pgrp = os.tcgetpgrp(fd)
    except OSError:
        return None
    try:
        return Path(f"/proc/{pgrp}/comm").read_text().strip() or None
    except OSError:
        return None


def read_ready(fd: int, limit: int) -> tuple[bytes, bool]:
    """What the terminal holds now, up to ``limit`` bytes, never waiting; True at end of file.

    Meant for the event loop. A PTY read(2) on an O_NONBLOCK fd still waits in the kernel when
    the line discipline's buffer is empty while output is pending (Linux's n_tty_read flushes
    the flip-buffer work first); with a program flooding the terminal and both cores busy, that
    held the loop, and every other session, for milliseconds. So after the first read (the fd
    was reported readable), read on only while FIONREAD says bytes are waiting.
    """
    return _read(fd, limit, lambda: _buffered(fd) > 0)


def _buffered(fd: int) -> int:
    """Bytes the terminal hands out without waiting (FIONREAD)."""
    count = bytearray(4)
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count)
    except OSError:
        return 0
    return int.from_bytes(count, sys.byteorder)


def read_available(fd: int, limit: int, seconds: float | None = None) -> tuple[bytes, bool]:
    """Drain up to ``limit`` bytes, for at most about ``seconds``; True at end of file.

    Each read may wait in the kernel for the next piece of pending output (see read_ready):
    the fastest way through a flood, and so meant for a worker thread (``read_batch``) or for the
    last output of an exited shell.
    """
    if seconds is None:
        return _read(fd, limit, lambda: True)
    deadline = time.monotonic() + seconds
    return _read(fd, limit, lambda: time.monotonic() < deadline)


def _read(fd: int, limit: int, go_on: Callable[[], bool]) -> tuple[bytes, bool]:
    """Read up to ``limit`` bytes while data comes and ``go_on()`` after each read allows;
    True at end of file."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        try:
            chunk = os.read(fd, min(65536, limit - size))
        except BlockingIOError:
            break
        except OSError as exc:
            if exc.errno == errno.EIO:  # every slave fd closed: Linux says EIO, not EOF
                return b"".join(chunks), True
            raise
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if not go_on():
            break
    return b"".join(chunks), False


def _wait_readable(fd: int, seconds: float) -> bool:
    """Whether ``fd`` became readable (or hung up) within ``seconds``."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(seconds * 1000))


def read_batch(fd: int, limit: int, seconds: float, first_wait: float = 0.0) -> tuple[bytes, bool]:
    """Drain up to ``limit`` bytes of ``fd`` for at most about ``seconds`` (``_read_into``), for
    a worker thread that streams a terminal (``reading.py``), on a ``dup`` of the session's fd
    that it closes itself, so that closing the session's own fd meanwhile can never make it
    read whatever file next gets that number.

    ``first_wait``: how long to wait for the first bytes when the PTY is empty at the start
    (a batch read while the previous one's bytes are being sent often finds the writer a step
    behind); once bytes came, the first pause ends the batch, so the last output of a burst
    (a prompt) is never held back.
    """
    return _read_into(fd, limit, time.monotonic() + seconds, first_wait)


def _read_into(fd: int, limit: int, deadline: float, first_wait: float) -> tuple[bytes, bool]:
    """``_read`` for a batch: the reads go into one buffer of ``limit`` bytes, copied out once.

    ``os.read(fd, 65536)`` allocates 64 KiB for each read of a PTY's ~4 KiB and shrinks it; with
    drains alternating between the pool's threads, each with its own malloc arena, a 2 s flood
    of ``yes`` on a fresh server grew RSS by 6.8-8.3 MB that way, 6.0-6.3 with this (6 fresh
    servers each, bench/README.md, "Reading a flood"). The loop's reads keep
    ``_read``: most are one small read (an echo), where a buffer of ``limit`` bytes, zeroed
    and copied from, would cost more than the read.
    """
    buffer = bytearray(limit)
    view = memoryview(buffer)
    size = 0
    eof = False
    try:
        while size < limit:
            try:
                count = os.readv(fd, [view[size:]])
            except BlockingIOError:
                if size or first_wait <= 0 or not _wait_readable(fd, first_wait):
                    break
                first_wait = 0.0
                continue
            except OSError as exc:
                if exc.errno != errno.EIO:  # every slave fd closed: Linux says EIO, not EOF
                    raise
                eof = True
                break
            if not count:
                eof = True
                break
            size += count
            if time.monotonic() >= deadline:
                break
        return bytes(view[:size]), eof
    finally:
        view.release()

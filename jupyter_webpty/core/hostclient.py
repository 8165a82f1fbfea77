"""The server's side of the PTY host (``host.py``): find or start it, spawn through it, adopt.

Requests are rare and small (a spawn, a reap, a rename, the adoption at start), so the client
is a blocking socket behind a lock, called from the event loop like the in-process spawn it
replaces (``PtyProcess.spawn`` blocks the loop as long). Terminal output never crosses this
socket while a server is attached: the server reads the PTY master the host handed it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _spawn, hostwire
from .errors import SpawnError
from .hostwire import HostError

log = logging.getLogger(__name__)

#: Seconds to wait for a host to start, and for each answer.
START_TIMEOUT = 30.0
CALL_TIMEOUT = 10.0


@dataclass
class Adopted:
    """A shell the host kept while no server was attached, handed to this server."""

    id: str
    pid: int
    fd: int | None  # the PTY master, now ours to read and close; None once the shell exited
    meta: dict[str, Any]
    exit_code: int | None  # set when the shell exited while no server was attached
    end: int | None  # the stream offset the last server reached; None after a crash
    away: int  # bytes the shell printed while no server was attached
    tail: bytes  # the last of those (at most the session's scrollback)


@dataclass(frozen=True)
class HostInfo:
    """What ``host.json`` says of a running host."""

    directory: Path
    pid: int
    version: int
    secret: str
    root: str


def read_info(directory: Path) -> HostInfo | None:
    """The host of ``directory`` from its ``host.json``, or None if there is none."""
    try:
        raw = json.loads((directory / "host.json").read_text())
        return HostInfo(directory, int(raw["pid"]), int(raw["version"]), str(raw["secret"]),
                        str(raw["root"]))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_hosts(runtime_dir: str) -> list[HostInfo]:
    """Every host of this user whose files are in ``runtime_dir`` (live or not)."""
    found = []
    for directory in sorted(Path(runtime_dir).glob("webpty-host-*")):
        info = read_info(directory)
        if info is not None:
            found.append(info)
    return found


class HostClient:
    """One authenticated connection to a host."""

    def __init__(self, sock: socket.socket, info: HostInfo) -> None:
        self._sock = sock
        self.info = info
        self._idle_timeout: float | None = None  # set by start(): what restart() passes on
        #: Most output the host keeps per shell while no server reads it (the scrollback).
        self.tail_cap = 4 * 1024 * 1024
        self._lock = threading.Lock()
        self.lost = False

    # -- connecting ------------------------------------------------------------------------------
    @classmethod
    def connect(cls, directory: Path) -> HostClient:
        """Connect to the live host of ``directory`` (raises ``HostError`` if none answers)."""
        info = read_info(directory)
        if info is None:
            msg = f"no host in {directory}"
            raise HostError(msg)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.settimeout(CALL_TIMEOUT)
        dirfd = hostwire.open_dir(directory)
        try:
            sock.connect(hostwire.short_path(directory, dirfd))
            if hostwire.peer_uid(sock) != os.getuid():
                msg = f"the host socket in {directory} belongs to another user"
                raise HostError(msg)
        except OSError as exc:
            sock.close()
            raise HostError(str(exc)) from exc
        finally:
            os.close(dirfd)
        client = cls(sock, info)
        answer = client.call({"op": "hello", "secret": info.secret})
        if answer.get("version") != hostwire.VERSION:
            client.close()
            msg = f"the host in {directory} speaks version {answer.get('version')}"
            raise HostError(msg)
        return client

    @classmethod
    def start(cls, directory: Path, root_dir: str, *, idle_timeout: float) -> HostClient:
        """Connect to the host of ``directory``, starting it first if none runs."""
        with contextlib.suppress(HostError):
            client = cls.connect(directory)
            client._idle_timeout = idle_timeout
            return client
        argv = [sys.executable, "-m", "jupyter_webpty.core.host", "--dir", str(directory),
                "--root", root_dir, "--idle-timeout", str(idle_timeout)]  # fmt: skip
        try:
            done = subprocess.run(  # noqa: S603 - our own module, no shell
                argv, timeout=START_TIMEOUT, capture_output=True, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"the PTY host did not start: {exc}"
            raise HostError(msg) from exc
        if done.returncode not in (0, 3):  # 3: another one holds the lock; use it
            detail = done.stderr.decode(errors="replace").strip()[-500:]
            msg = f"the PTY host did not start (exit {done.returncode}): {detail}"
            raise HostError(msg)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client = cls.connect(directory)
            except HostError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
                continue
            client._idle_timeout = idle_timeout
            return client

    def restart(self) -> HostClient:
        """A new host for the same directory and root, this one being gone; adopted at once
        (it holds no shells: a dead host's shells are not its successor's)."""
        idle = self._idle_timeout if self._idle_timeout is not None else 86400.0
        client = HostClient.start(self.info.directory, self.info.root, idle_timeout=idle)
        try:
            client.adopt()
        except HostError:
            client.close()
            raise
        return client

    # -- requests --------------------------------------------------------------------------------
    def call(
        self, header: dict[str, Any], more: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Send one request; return its answer (``_exchange`` says what ``more`` is for).

        Raises ``HostError`` when the host refuses, and when it is gone (then for good).
        """
        answer, _, fds = self._exchange(header, more)
        for fd in fds:
            os.close(fd)
        return answer

    def _exchange(
        self, header: dict[str, Any], more: Callable[[dict[str, Any]], None] | None = None
    ) -> tuple[dict[str, Any], bytes, list[int]]:
        """One request and its answer; ``more(answer)`` then receives what follows the answer
        (``adopt``) in the same turn. A refusal raises ``HostError``; a broken or garbled
        exchange does too, and the host is lost (the socket may be mid-conversation)."""
        with self._lock:
            if self.lost:
                msg = "the PTY host is gone"
                raise HostError(msg)
            try:
                hostwire.send(self._sock, header)
                answer, payload, fds = hostwire.receive(self._sock)
                if answer.get("ok") and more is not None:
                    more(answer)
            except (OSError, ValueError, KeyError) as exc:
                self.lost = True
                raise HostError(str(exc)) from exc
        if not answer.get("ok"):
            for fd in fds:
                os.close(fd)
            raise HostError(str(answer.get("error", "the host refused")))
        return answer, payload, fds

    def spawn(self, session_id: str, launch: _spawn.Launch) -> _spawn.Child:
        """Start a shell in the host; we get a copy of its PTY master and a pidfd."""
        request = {"op": "spawn", "id": session_id, "argv": list(launch.argv),
                   "cwd": launch.cwd, "env": dict(launch.env), "cols": launch.cols,
                   "rows": launch.rows, "meta": dict(launch.meta),
                   "cap": self.tail_cap}  # fmt: skip
        try:
            answer, _, fds = self._exchange(request)
        except HostError as exc:
            raise SpawnError(launch.argv, f"the PTY host failed: {exc}") from exc
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise SpawnError(launch.argv, "the PTY host sent no terminal")
        return _child(int(answer["pid"]), fds[0])

    def reap(self, session_id: str, pid: int) -> int | None:
        """The shell's exit code once it exited (the host is its parent); -1 if the host is gone."""
        try:
            code = self.call({"op": "reap", "id": session_id}).get("code")
        except HostError:
            return -1 if not _spawn.signalable(pid) else None
        return None if code is None else int(code)

    def wait(self, session_id: str, pid: int) -> int:
        """Wait for the shell's exit code (blocking; only after SIGKILL, so not for long)."""
        while True:
            code = self.reap(session_id, pid)
            if code is not None:
                return code
            time.sleep(0.02)

    def is_alive(self) -> bool:
        """Whether the host still answers (it may have been killed since the last request)."""
        try:
            self.call({"op": "list"})
        except HostError:
            return False
        return True

    def forget(self, session_id: str) -> None:
        """The server is done with the session: the host closes its master and lets it go."""
        with contextlib.suppress(HostError):
            self.call({"op": "forget", "id": session_id})

    def update(self, session_id: str, meta: Mapping[str, Any]) -> None:
        """Keep the host's copy of a session's name (for a server without a revival store)."""
        with contextlib.suppress(HostError):
            self.call({"op": "update", "id": session_id, "meta": dict(meta)})

    def adopt(self) -> list[Adopted]:
        """Become the host's server: every shell it keeps, with what they printed meanwhile."""
        shells: list[Adopted] = []

        def receive(answer: dict[str, Any]) -> None:  # one packet per shell follows the answer
            shells.extend(self._receive_adopted() for _ in range(int(answer["count"])))

        self.call({"op": "adopt"}, receive)
        return shells

    def _receive_adopted(self) -> Adopted:
        info, _, fds = hostwire.receive(self._sock)
        size = int(info["tail"])
        chunks = []
        while size > 0:
            _, payload, extra = hostwire.receive(self._sock)
            for stray in extra:
                os.close(stray)
            chunks.append(payload)
            size -= len(payload)
        master = fds[0] if fds else None
        if master is not None:
            os.set_blocking(master, False)
        end = info.get("end")
        exit_code = info.get("exit_code")
        return Adopted(
            id=str(info["id"]), pid=int(info["pid"]), fd=master, meta=dict(info.get("meta") or {}),
            exit_code=None if exit_code is None else int(exit_code),
            end=None if end is None else int(end), away=int(info["away"]), tail=b"".join(chunks),
        )  # fmt: skip

    def detach(self, ends: Mapping[str, int]) -> None:
        """The server stops cleanly: tell the host where each stream stands, then disconnect."""
        with contextlib.suppress(HostError):
            self.call({"op": "detach", "ends": dict(ends)})
        self.close()

    def close(self) -> None:
        """Disconnect; the host then reads the shells' output until a server adopts them."""
        self.lost = True
        with contextlib.suppress(OSError):
            self._sock.close()


def child_of(adopted: Adopted) -> _spawn.Child | None:
    """An adopted shell as a ``Child`` (None once it exited)."""
    if adopted.fd is None or adopted.exit_code is not None:
        return None
    return _child(adopted.pid, adopted.fd)


def _child(pid: int, fd: int) -> _spawn.Child:
    os.set_inheritable(fd, False)
    os.set_blocking(fd, False)
    pidfd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(pid)  # not our child, but exits are visible all the same
    return _spawn.Child(pid=pid, fd=fd, pidfd=pidfd)


def stop_host(directory: Path, grace: float = 5.0) -> int:
    """Ask the host of ``directory`` to end its shells and exit; signals if it does not answer.

    Returns the number of shells it ended (-1 when it had to be killed).
    """
    info = read_info(directory)
    try:
        client = HostClient.connect(directory)
    except HostError:
        client = None
    if client is not None:
        try:
            return int(client.call({"op": "stop"}).get("ended", 0))
        except HostError:
            pass
        finally:
            client.close()
    if info is None:
        return 0
    for sig in (15, 9):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(info.pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _spawn.signalable(info.pid):
            time.sleep(0.05)
        if not _spawn.signalable(info.pid):
            break
    return -1

"""The PTY host: a small process that keeps shells alive while Jupyter servers come and go.

``python -m jupyter_webpty.core.host --dir DIR --root ROOT`` starts it (the server does, on
demand, when ``persist_sessions`` is on). It double-forks into a new session, so neither the
server's signals nor its exit reach it, listens on ``DIR/host.sock`` and writes ``DIR/host.json``
(pid, version, secret), both 0600 in a 0700 directory (``hostwire.py``).

What it does is deliberately little; the core runs in the server as before (docs/persistence.md
says why):

* **spawn**: fork a shell on a new PTY (``_spawn.spawn``) and hand the server a copy of the PTY
  master over the socket. The host keeps its own copy: a server that exits closes its copy,
  and the shell never sees the master close (no SIGHUP).
* **parent**: the shells are the host's children, so it reaps them, when the server asks
  (after the server's closing ladder, as in-process sessions do) or, with no server attached,
  as they exit.
* **drain**: while no server is attached, it reads every PTY into a bounded tail (the output a
  program prints meanwhile must not block it: a PTY holds about 17 KB), and hands tails and
  masters to the next server that adopts them (``adopt``).

``Host`` here serves the connections and their requests; the shells, their draining and reaping
are ``hostshells.py``'s ``Shells``.

It exits when no server is attached and no shell is left, after ``--idle-timeout`` seconds
without a server (ending its shells first), or on ``stop`` / SIGTERM (ending its shells).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hmac
import json
import logging
import os
import secrets
import selectors
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from . import _spawn, hostwire
from .hostshells import Shells

log = logging.getLogger("jupyter_webpty.host")

#: Seconds a new host waits for its first server before it gives up (it was started for one).
FIRST_SERVER_GRACE = 60.0
#: Exit codes of the starting process (the server reads them).
EXIT_RUNNING = 3  # another host holds the lock: connect to that one


class Host:
    """The host's connections and requests, on a one-thread select loop (shells: ``Shells``)."""

    def __init__(self, directory: Path, root: str, idle_timeout: float, secret: str) -> None:
        self.directory = directory
        self.root = root
        self.idle_timeout = idle_timeout
        self.secret = secret
        self.selector = selectors.DefaultSelector()
        self.shells = Shells(self.selector)
        self.listener: socket.socket | None = None
        self.server: socket.socket | None = None  # the connection that adopted, if any
        self.trusted: set[socket.socket] = set()  # connections that said hello with the secret
        self.started = time.monotonic()
        self.server_left: float | None = None  # when the last server went away
        self.ever_served = False
        self.stopping = False

    # -- the loop ------------------------------------------------------------------------------
    def serve(self, listener: socket.socket) -> None:
        """Serve until stopped or no longer needed (``_should_exit``), then end every shell."""
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, ("listen", None))
        while not self.stopping:
            for key, _ in self.selector.select(timeout=1.0):
                kind, value = key.data
                if kind == "listen":
                    self._accept()
                elif kind == "conn":
                    self._request(value)
                elif kind == "pty":
                    self.shells.drain(value)
                elif kind == "exit":
                    self.shells.exited(value)
            if self._should_exit():
                break
        self.shells.end_all()

    def _should_exit(self) -> bool:
        if self.server is not None:
            return False
        waited = time.monotonic() - (self.server_left or self.started)
        if not self.shells:
            return self.ever_served or waited > FIRST_SERVER_GRACE
        # Shells that exited meanwhile keep the host too: the next server must hear of their
        # exit, or it would revive them from its store.
        if self.idle_timeout and waited > self.idle_timeout:
            log.info("no server for %.0f s: ending %d shell(s)", waited, self.shells.live_count())
            return True
        return False

    def _accept(self) -> None:
        assert self.listener is not None  # noqa: S101
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        if hostwire.peer_uid(conn) != os.getuid():  # never another user, whatever the modes
            conn.close()
            return
        conn.settimeout(10)
        self.selector.register(conn, selectors.EVENT_READ, ("conn", conn))
        # Not in self.trusted yet: the first packet must be a hello with the secret.

    def _request(self, conn: socket.socket) -> None:
        try:
            header, payload, fds = hostwire.receive(conn)
        except (OSError, TimeoutError):
            self._drop(conn)
            return
        for fd in fds:  # nothing a client sends carries descriptors
            os.close(fd)
        op = header.get("op")
        if conn not in self.trusted:
            if op != "hello" or not hmac.compare_digest(str(header.get("secret", "")), self.secret):
                self._drop(conn)
                return
            self.trusted.add(conn)
            self._reply(conn, {"ok": True, "pid": os.getpid(), "version": hostwire.VERSION,
                               "root": self.root, "shells": self.shells.live_count()})  # fmt: skip
            return
        try:
            handler = getattr(self, f"_op_{op}", None)
            if handler is None:
                self._reply(conn, {"ok": False, "error": f"unknown op {op!r}"})
                return
            handler(conn, header, payload)
        except (OSError, TimeoutError) as exc:
            log.warning("request %s failed: %s", op, exc)
            self._drop(conn)
        except Exception as exc:  # one bad request must not end the host and its shells
            log.exception("request %s failed", op)
            with contextlib.suppress(OSError):
                self._reply(conn, {"ok": False, "error": str(exc)})

    def _reply(self, conn: socket.socket, header: dict[str, Any], fds: list[int] | None = None,
               payload: bytes = b"") -> None:  # fmt: skip
        hostwire.send(conn, header, payload, fds)

    def _drop(self, conn: socket.socket) -> None:
        self.trusted.discard(conn)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        conn.close()
        if conn is self.server:  # from now on the host reads the shells' output itself
            self.server = None
            self.server_left = time.monotonic()
            for shell in self.shells:
                self.shells.watch(shell)

    # -- requests --------------------------------------------------------------------------------
    def _op_spawn(self, conn: socket.socket, header: dict[str, Any], _payload: bytes) -> None:
        session_id = str(header["id"])
        if self.shells.get(session_id) is not None:
            self._reply(conn, {"ok": False, "error": "a shell with that id exists"})
            return
        meta, cap = dict(header.get("meta", {})), int(header.get("cap", 1 << 20))
        child = _spawn.spawn(_spawn.Launch(
            [str(a) for a in header["argv"]], str(header["cwd"]),
            {str(k): str(v) for k, v in header["env"].items()},
            int(header["cols"]), int(header["rows"]), meta=meta,
        ))  # fmt: skip
        shell = self.shells.add(session_id, child, meta, cap)
        if self.server is None:  # a client that has not adopted: watch it as if away
            self.shells.watch(shell)
        self._reply(conn, {"ok": True, "pid": child.pid}, [child.fd])

    def _op_reap(self, conn: socket.socket, header: dict[str, Any], _payload: bytes) -> None:
        shell = self.shells.get(str(header["id"]))
        if shell is None:
            self._reply(conn, {"ok": True, "code": -1})
            return
        if shell.exit_code is None:
            shell.exit_code = _spawn.reap(shell.pid)
        self._reply(conn, {"ok": True, "code": shell.exit_code})

    def _op_forget(self, conn: socket.socket, header: dict[str, Any], _payload: bytes) -> None:
        self.shells.remove(str(header["id"]))
        self._reply(conn, {"ok": True})

    def _op_update(self, conn: socket.socket, header: dict[str, Any], _payload: bytes) -> None:
        shell = self.shells.get(str(header["id"]))
        if shell is not None:
            shell.meta.update(header.get("meta", {}))
        self._reply(conn, {"ok": True})

    def _op_adopt(self, conn: socket.socket, _header: dict[str, Any], _payload: bytes) -> None:
        if self.server is not None and self.server is not conn:
            self._reply(conn, {"ok": False, "error": "another server is attached to this host"})
            return
        self.server = conn
        self.ever_served = True
        self.server_left = None
        shells = list(self.shells)
        self._reply(conn, {"ok": True, "count": len(shells)})
        for shell in shells:
            tail, away, end = self.shells.hand_over(shell)
            info = {"id": shell.id, "pid": shell.pid, "meta": shell.meta,
                    "exit_code": shell.exit_code, "end": end, "away": away,
                    "tail": len(tail)}  # fmt: skip
            self._reply(conn, info, [shell.fd] if shell.fd is not None else None)
            for start in range(0, len(tail), hostwire.CHUNK):
                self._reply(conn, {"id": shell.id}, payload=tail[start : start + hostwire.CHUNK])
        for shell in shells:
            if shell.exit_code is not None:
                self.shells.remove(shell.id)  # the server heard of the exit: done

    def _op_detach(self, conn: socket.socket, header: dict[str, Any], _payload: bytes) -> None:
        """The server stops cleanly and says where each stream stands; it disconnects next."""
        for session_id, end in dict(header.get("ends", {})).items():
            shell = self.shells.get(str(session_id))
            if shell is not None:
                shell.end = int(end)
        self._reply(conn, {"ok": True})

    def _op_list(self, conn: socket.socket, _header: dict[str, Any], _payload: bytes) -> None:
        shells = [{"id": s.id, "pid": s.pid, "meta": s.meta, "exit_code": s.exit_code}
                  for s in self.shells]  # fmt: skip
        self._reply(conn, {"ok": True, "root": self.root, "pid": os.getpid(),
                           "attached": self.server is not None, "shells": shells})  # fmt: skip

    def _op_stop(self, conn: socket.socket, _header: dict[str, Any], _payload: bytes) -> None:
        ended = self.shells.end_all()
        self.stopping = True
        self._reply(conn, {"ok": True, "ended": ended})


def _prepare(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_uid != os.getuid():
        msg = f"{directory} belongs to another user"
        raise PermissionError(msg)
    directory.chmod(0o700)


def _listen(directory: Path) -> socket.socket:
    dirfd = hostwire.open_dir(directory)
    try:
        path = hostwire.short_path(directory, dirfd)
        Path(path).unlink(missing_ok=True)  # a dead host's socket: the lock says none uses it
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        old = os.umask(0o177)  # created 0600, no window with a looser mode
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        Path(path).chmod(0o600)
        sock.listen(8)
    finally:
        os.close(dirfd)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_webpty.core.host")
    parser.add_argument("--dir", required=True, help="the host's directory (0700)")
    parser.add_argument("--root", required=True, help="the server's root directory")
    parser.add_argument("--idle-timeout", type=float, default=86400.0)
    parser.add_argument("--foreground", action="store_true", help="do not daemonize (tests)")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    _prepare(directory)
    lock = os.open(directory / "host.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return EXIT_RUNNING
    if not args.foreground:
        ready_r, ready_w = os.pipe()
        if os.fork():  # the starter: wait until the host listens, then report
            os.close(ready_w)
            with os.fdopen(ready_r, "rb") as ready:
                answer = ready.read()
            os.close(lock)
            return 0 if answer == b"ok" else 1
        os.close(ready_r)
        os.setsid()
        if os.fork():
            os._exit(0)  # the session leader goes: the host can never get a terminal again
    _detach_stdio(directory)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s host %(levelname)s %(message)s")
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    listener = _listen(directory)
    secret = secrets.token_hex(32)
    info = {"pid": os.getpid(), "version": hostwire.VERSION, "secret": secret, "root": args.root}
    hostwire.write_private(directory / "host.json", json.dumps(info).encode())
    host = Host(directory, args.root, args.idle_timeout, secret)
    signal.signal(signal.SIGTERM, lambda *_: setattr(host, "stopping", True))
    log.info("host %d serving %s for %s", os.getpid(), directory, args.root)
    if not args.foreground:
        os.write(ready_w, b"ok")
        os.close(ready_w)
    try:
        host.serve(listener)
    finally:
        (directory / "host.json").unlink(missing_ok=True)
        (directory / "host.sock").unlink(missing_ok=True)
        log.info("host %d exits", os.getpid())
    return 0


def _detach_stdio(directory: Path) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(directory / "host.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)


if __name__ == "__main__":
    sys.exit(main())

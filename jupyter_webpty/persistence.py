"""What outlives a server, set up when it starts: the revival store and the PTY host.

The app (``app.py``) passes plain values from its traits and owns the lifetime: it hands the
store and the host to the ``SessionManager`` and calls ``release`` when it stops.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from .core.hostclient import HostClient
from .core.hostwire import host_dir
from .core.revive import SessionStore


class Persistence:
    """The revival store of one server (with the lock that makes it this server's) and its
    PTY host, both keyed by the user and the root directory."""

    def __init__(self, root_dir: str, log: logging.Logger) -> None:
        self.root = str(Path(root_dir).resolve())
        self._log = log
        self._lock: IO[str] | None = None  # the open, flock-ed file that makes the store ours

    def revival_dir(self, revive_dir: str, data_dir: str) -> Path:
        """Where this server saves its sessions: keyed by the user and the root directory.

        Two servers with different roots keep apart; the data dir survives a machine restart
        and, in JupyterHub, a pod restart when the home directory is persistent.
        """
        key = hashlib.sha256(f"{os.getuid()}\0{self.root}".encode()).hexdigest()[:16]
        if revive_dir:
            return Path(revive_dir) / key
        return Path(data_dir, "webpty") / "sessions" / key

    def store(
        self, directory: Path, scrollback_bytes: int, *, enabled: bool
    ) -> SessionStore | None:
        """The revival store, if ``enabled`` and if no other live server uses ``directory``.

        Disabled, what an earlier run saved there is deleted.
        """
        store = SessionStore(str(directory), scrollback_bytes)
        if not enabled:
            if directory.is_dir():
                store.discard_all()
            return None
        try:
            store.prepare()
            # One server per directory: a second one on the same root neither revives nor saves
            # (it would revive the first one's live sessions). The lock dies with its process.
            lock = (directory / "lock").open("a")
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._log.warning(
                "jupyter-webpty: sessions will not be saved for revival (%s is in use or "
                "unwritable: %s)", directory, exc,
            )  # fmt: skip
            return None
        self._lock = lock
        (directory / "root").write_text(self.root + "\n")
        return store

    def host(self, runtime_dir: str, idle_timeout: float) -> HostClient | None:
        """The PTY host that keeps this root's shells, started if none runs (None: it failed)."""
        directory = host_dir(runtime_dir, self.root)
        try:
            host = HostClient.start(directory, self.root, idle_timeout=idle_timeout)
        except OSError as exc:
            self._log.error("jupyter-webpty: no PTY host, shells end with the server: %s", exc)
            return None
        self._log.info(
            "jupyter-webpty: PTY host %d keeps the shells (%s)", host.info.pid, directory
        )
        return host

    def release(self) -> None:
        """Unlock the revival store: the next server on this root may take over."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

"""Named sessions per owner: creation with limits, lookup, exits and list changes.

The server-wide budget of retained output is ``budget.py``'s, culling idle sessions
``culling.py``'s; the manager owns one of each over its sessions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from . import _spawn
from .budget import RetentionBudget
from .comeback import Comeback
from .culling import Culler
from .errors import (
    InvalidCwd,
    SessionLimitReached,
    SessionNameTaken,
    SessionNotFound,
    SpawnError,
)
from .hostclient import Adopted, HostClient, child_of
from .integration import integrate
from .marks import MAX_COMMANDS, CommandRecord
from .revive import SavedSession, SessionStore, restored_line
from .session import Limits, PtySession

log = logging.getLogger(__name__)

#: Seconds between attempts to start a new PTY host after the last one died.
HOST_RETRY = 10.0


class Listener(Protocol):
    """Who hears about sessions ending and lists changing (the transport)."""

    def session_exited(self, session: PtySession) -> None:
        """``session`` ended by itself or was closed; it is no longer listed."""

    def sessions_changed(self, owner: str) -> None:
        """``owner``'s list of sessions changed."""


class SessionManager:
    """All live sessions of this server, keyed by an unguessable id, named per owner."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        root_dir: str,
        default_cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        max_sessions_per_user: int = 0,
        max_sessions: int = 0,
        max_retained_bytes: int = 0,
        cull_timeout: float = 0,
        kill_on_exit: bool = True,
        on_activity: Callable[[], None] | None = None,
        shell_dir: str | None = None,
        max_commands: int = MAX_COMMANDS,
        store: SessionStore | None = None,
        host: HostClient | None = None,
    ) -> None:
        self.argv = list(argv)
        #: Saves sessions for a later server to revive (None: revival is off).
        self.store = store
        #: The PTY host that keeps shells through server restarts (None: shells are ours).
        self.host = host
        self._adopted: list[Adopted] = []
        self._host_retry = -HOST_RETRY
        if host is not None:
            host.tail_cap = (limits or Limits()).scrollback_bytes
            try:
                self._adopted = host.adopt()
            except OSError as exc:
                log.error("the PTY host refused this server (%s); shells will not persist", exc)
                host.close()
                self.host = None
        self._stopping = False
        self._sessions: dict[str, PtySession] = {}
        self.root_dir = str(Path(root_dir).resolve())
        self.default_cwd = default_cwd
        self._env = dict(os.environ if env is None else env) | dict(extra_env or {})
        self.limits = limits or Limits()
        self.max_sessions_per_user = max_sessions_per_user
        self.max_sessions = max_sessions
        self._budget = RetentionBudget(max_retained_bytes, self._sessions.values)
        self._culler = Culler(cull_timeout, self._sessions.values)
        self.kill_on_exit = kill_on_exit
        self._on_activity = on_activity
        self._last_activity_report = 0.0
        self._listeners: list[Listener] = []
        self.max_commands = max_commands
        self._on_command: list[Callable[[PtySession, CommandRecord, bool], None]] = []
        # Shell integration: the same argv and environment for every session, worked out once.
        integrated = integrate(self.argv, self._env, shell_dir) if shell_dir else None
        self.integrated = integrated is not None
        self._spawn_argv, self._spawn_env = integrated or (self.argv, self._env)

    def on_command(self, callback: Callable[[PtySession, CommandRecord, bool], None]) -> None:
        """Call ``callback(session, record, finished)`` when a command starts or finishes."""
        self._on_command.append(callback)

    def _command(self, session: PtySession, record: CommandRecord, finished: bool) -> None:
        for callback in self._on_command:
            try:
                callback(session, record, finished)
            except Exception:
                log.exception("command listener failed for terminal %s", session.id)

    def add_listener(self, listener: Listener) -> None:
        """Tell ``listener`` about exits and list changes."""
        self._listeners.append(listener)

    # -- queries -----------------------------------------------------------------------------
    def sessions(self, owner: str) -> list[PtySession]:
        """``owner``'s live sessions, oldest first."""
        return [s for s in self._sessions.values() if s.owner == owner and s.is_alive]

    def get(self, owner: str, session_id: str) -> PtySession:
        """``owner``'s session with that id; another owner's looks exactly like a missing one."""
        session = self._sessions.get(session_id)
        if session is None or session.owner != owner or not session.is_alive:
            raise SessionNotFound(session_id)
        return session

    def find(
        self, owner: str, *, session_id: str | None = None, name: str | None = None
    ) -> PtySession:
        """``owner``'s session by id, or else by name."""
        if session_id is not None:
            return self.get(owner, session_id)
        for session in self.sessions(owner):
            if session.name == name:
                return session
        raise SessionNotFound(name or "")

    def __len__(self) -> int:
        return len(self._sessions)

    def has(self, session_id: str) -> bool:
        """Whether a session with that id is known (live or ending), whoever owns it."""
        return session_id in self._sessions

    # -- changes -----------------------------------------------------------------------------
    def create(
        self, owner: str, *, cols: int, rows: int, name: str | None = None, cwd: str | None = None
    ) -> PtySession:
        """Start a shell for ``owner`` (raises a ``WebPtyError`` when refused)."""
        mine = self.sessions(owner)
        if self.max_sessions_per_user and len(mine) >= self.max_sessions_per_user:
            raise SessionLimitReached(self.max_sessions_per_user)
        if self.max_sessions and len(self._sessions) >= self.max_sessions:
            raise SessionLimitReached(self.max_sessions, "on this server")
        taken = {s.name for s in mine}
        if name is None:
            name = next(str(n) for n in range(1, len(taken) + 2) if str(n) not in taken)
        elif name in taken:
            raise SessionNameTaken(name)
        try:
            session = self._start(owner, name, self.resolve_cwd(cwd), cols, rows)
        except SpawnError:
            if self.host is None or not self.host.lost:
                raise
            # The PTY host died under us: start the shell with the next one, or here.
            session = self._start(owner, name, self.resolve_cwd(cwd), cols, rows)
        log.info("terminal %s (%r) started for %s", session.id, name, owner)
        self._changed(owner)
        return session

    def _start(
        self,
        owner: str,
        name: str,
        cwd: str,
        cols: int,
        rows: int,
        saved: SavedSession | None = None,
        adopted: tuple[Adopted, int, bytes] | None = None,
    ) -> PtySession:
        if saved is not None:
            restored: tuple[int, bytes] | None = (saved.base, saved.data)
        elif adopted is not None:
            restored = adopted[1:]
        else:
            restored = None
        host = self._live_host() if adopted is None else self.host
        session = PtySession(
            self._spawn_argv,
            owner=owner,
            name=name,
            cwd=cwd,
            env=self._spawn_env,
            cols=cols,
            rows=rows,
            limits=self.limits,
            kill_on_exit=self.kill_on_exit,
            integrated=self.integrated,
            max_commands=self.max_commands,
            session_id=saved.session_id if saved else adopted[0].id if adopted else None,
            restored=restored,
            spawner=host,
            adopted=child_of(adopted[0]) if adopted else None,
        )
        session.on_command(lambda record, finished: self._command(session, record, finished))
        session.on_exit(self._forget)
        session.on_activity(self._activity)
        session.on_retained(self._budget.change)
        if saved is not None:
            session.created_at = saved.created_at
        if restored is not None:
            self._budget.change(session.retained_bytes)
        if adopted is not None:
            session.created_at = float(adopted[0].meta.get("created_at", session.created_at))
        if self.store is not None:
            if adopted is not None:  # the log on disk ends where the tail starts, if they meet
                kept = session.end - len(adopted[0].tail)
                self.store.track(session, log_end=kept)
                self.store.extend(session.id, adopted[0].tail, session.end)
            else:
                self.store.track(session, revived=saved is not None)
        if saved is not None and adopted is None:
            session.note(restored_line(saved, cwd))
        try:
            session.start()
        except Exception:
            if self.store is not None:
                self.store.forget(session.id)
            raise
        self._sessions[session.id] = session
        self.start_culling()  # here, where a loop surely runs; a no-op when already started
        return session

    def revive(self) -> list[PtySession]:
        """Bring back what a previous server on this root left: the PTY host's shells, adopted,
        and a new shell for each other saved session (``comeback.py``)."""
        adopted, self._adopted = self._adopted, []
        saved = self.store.load() if self.store is not None else []
        sessions = Comeback(self, adopted, saved).run()
        for owner in {s.owner for s in sessions}:
            self._changed(owner)
        return sessions

    def resolve_cwd(self, cwd: str | None) -> str:
        """The directory a shell starts in: inside the root directory, existing."""
        requested = cwd if cwd is not None else self.default_cwd
        if requested is None or requested == "":
            return self.root_dir
        try:
            path = Path(self.root_dir, Path(requested).expanduser()).resolve()
        except (ValueError, OSError) as exc:  # a NUL byte, a symlink loop
            raise InvalidCwd(requested, str(exc)) from exc
        if path != Path(self.root_dir) and Path(self.root_dir) not in path.parents:
            raise InvalidCwd(requested, "it is outside the server's root directory")
        try:
            is_dir = path.is_dir()
        except OSError as exc:  # a name too long: pathlib only hides "no such file" errors
            raise InvalidCwd(requested, exc.strerror or str(exc)) from exc
        if not is_dir:
            raise InvalidCwd(requested, "no such directory")
        return str(path)

    def rename(self, owner: str, session_id: str, name: str) -> PtySession:
        """Give ``owner``'s session another name, unique among the owner's sessions."""
        session = self.get(owner, session_id)
        if name != session.name and any(s.name == name for s in self.sessions(owner)):
            raise SessionNameTaken(name)
        session.name = name
        if self.store is not None:
            self.store.changed(session)
        if self.host is not None and session.spawner is self.host:
            self.host.update(session.id, {"name": name})
        self._changed(owner)
        return session

    async def close(self, owner: str, session_id: str) -> int:
        """Terminate ``owner``'s session and everything started from it; return the exit code."""
        return await self.get(owner, session_id).terminate()

    def _live_host(self) -> HostClient | None:
        """The PTY host to spawn through: the current one, or a new one if it died (at most
        one attempt per ``HOST_RETRY`` seconds); None: spawn here (shells end with the server).

        Shells of a dead host keep running on the server's copy of their terminal, but no
        longer survive a restart (``_persisting``): they end with the server and are revived.
        """
        host = self.host
        if host is None or not host.lost:
            return host
        now = time.monotonic()
        if now - self._host_retry < HOST_RETRY:
            return None
        self._host_retry = now
        try:
            self.host = host.restart()
        except OSError as exc:
            log.error("the PTY host is gone and a new one did not start (%s)", exc)
            return None
        self.host.tail_cap = host.tail_cap
        log.warning("the PTY host was gone; new shells live in a new one (%d)", self.host.info.pid)
        return self.host

    def _persisting(self) -> list[PtySession]:
        """Live sessions the PTY host keeps through a server restart."""
        host = self.host
        if host is None or not host.is_alive():
            return []
        return [s for s in self._sessions.values() if s.is_alive and s.spawner is host]

    async def close_all(self) -> None:
        """Server shutdown: let the PTY host keep its shells, terminate every other one.

        Either way each session stays saved for revival (or, kept by the host, for adoption).
        """
        self._stopping = True
        self.stop_culling()
        kept = self._persisting()
        ends = {session.id: await session.release() for session in kept}
        sessions = [s for s in self._sessions.values() if s.is_alive and s not in kept]
        results = await asyncio.gather(*(s.terminate() for s in sessions), return_exceptions=True)
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, BaseException):
                log.error("closing terminal %s failed: %s", session.id, result)
        # After the shells ended: what they printed last was sent to pages, so it is saved too
        # (a page's offset then never points past the saved end).
        self._stop_saving()
        self._detach_host(ends)

    def _detach_host(self, ends: Mapping[str, int]) -> None:
        if self.host is not None:
            self.host.detach(ends)  # after the store: the host reads on from these offsets

    def close_all_blocking(self) -> int:
        """End every live session without an event loop (interpreter exit); return how many.

        A server stopped by SIGINT without a tty (JupyterHub's spawners do that) exits through
        KeyboardInterrupt and never runs ``stop_extension``; an ``atexit`` hook calls this. All
        sessions go through one ladder together, as ``close_all`` does.
        """
        kept = self._persisting()
        self._stop_saving()
        # No loop to quiesce readers on: stop at the offsets reached (the store saved that far).
        self._detach_host({session.id: session.end for session in kept})
        shells = [
            s.pid for s in self._sessions.values() if s.is_alive and s.pid is not None
            and s not in kept
        ]  # fmt: skip
        _spawn.end_sessions_blocking(shells, self.limits.kill_grace)
        for pid in shells:
            _spawn.wait(pid)
        return len(shells)

    def _stop_saving(self) -> None:
        self._stopping = True
        if self.store is not None:
            try:
                self.store.stop()
            except Exception:  # the shells must end all the same
                log.exception("saving sessions for revival failed")

    def is_kept(self, session: PtySession) -> bool:
        """Whether ``session`` ended only because the server stops, and a later one revives it."""
        return self._stopping and self.store is not None

    def _forget(self, session: PtySession) -> None:
        if self._sessions.pop(session.id, None) is not None:
            self._budget.forget(session)
        if self.store is not None and not self._stopping:
            self.store.forget(session.id)  # closed, culled or exited by itself: never revived
        if self.host is not None and session.spawner is self.host:
            self.host.forget(session.id)
        log.info("terminal %s ended with code %s", session.id, session.exit_code)
        for listener in self._listeners:
            try:
                listener.session_exited(session)
            except Exception:
                log.exception("listener failed on exit of %s", session.id)
        self._changed(session.owner)

    def _changed(self, owner: str) -> None:
        for listener in self._listeners:
            try:
                listener.sessions_changed(owner)
            except Exception:
                log.exception("listener failed on a change for %s", owner)

    def notify_changed(self, owner: str) -> None:
        """Tell listeners that ``owner``'s list changed (attach counts, for instance)."""
        self._changed(owner)

    def _activity(self) -> None:
        # Cheap throttle: the hot path calls this per read.
        now = time.monotonic()
        if self._on_activity is not None and now - self._last_activity_report >= 1.0:
            self._last_activity_report = now
            self._on_activity()

    # -- retained output budget (budget.py) -------------------------------------------------
    @property
    def retained_bytes(self) -> int:
        """Output retained by all live sessions, in bytes."""
        return self._budget.total

    # -- culling (culling.py) ----------------------------------------------------------------
    def start_culling(self) -> None:
        """Close detached sessions idle longer than ``cull_timeout`` seconds (0: never)."""
        self._culler.start()

    def stop_culling(self) -> None:
        """Stop the culling timer."""
        self._culler.stop()

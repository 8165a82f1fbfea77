"""Named sessions per owner: creation with limits, lookup, exits and list changes.

The server-wide budget of retained output is ``budget.py``'s, culling idle sessions
``culling.py``'s, the PTY host's policy (where shells start, which it keeps) ``hosting.py``'s,
carrying sessions over a server restart (what the revival store and the host hear of each,
revival at start, keeping or ending them at shutdown) ``continuity.py``'s; the manager owns one
of each over its sessions.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .budget import RetentionBudget
from .continuity import Continuity
from .culling import Culler
from .cwd import resolve_cwd
from .errors import (
    SessionLimitReached,
    SessionNameTaken,
    SessionNotFound,
    SpawnError,
)
from .hostclient import Adopted, HostClient, child_of
from .hosting import Hosting
from .integration import integrate
from .listeners import CommandListener, Listener, Listeners
from .marks import MAX_COMMANDS
from .revive import SavedSession, SessionStore
from .session import Limits, PtySession

log = logging.getLogger(__name__)


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
        #: The PTY host that keeps shells through server restarts, and its policy.
        self.hosting = Hosting(host, tail_cap=(limits or Limits()).scrollback_bytes)
        self._sessions: dict[str, PtySession] = {}
        self._continuity = Continuity(store, self.hosting, self._sessions.values)
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
        self._listeners = Listeners()
        self.max_commands = max_commands
        # Shell integration: the same argv and environment for every session, worked out once.
        integrated = integrate(self.argv, self._env, shell_dir) if shell_dir else None
        self.integrated = integrated is not None
        self._spawn_argv, self._spawn_env = integrated or (self.argv, self._env)

    def on_command(self, callback: CommandListener) -> None:
        """Call ``callback(session, record, finished)`` when a command starts or finishes."""
        self._listeners.on_command(callback)

    def add_listener(self, listener: Listener) -> None:
        """Tell ``listener`` about exits and list changes (``listeners.py``)."""
        self._listeners.add(listener)

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
            if not self.hosting.is_lost:
                raise
            # The PTY host died under us: start the shell with the next one, or here.
            session = self._start(owner, name, self.resolve_cwd(cwd), cols, rows)
        log.info("terminal %s (%r) started for %s", session.id, name, owner)
        self._listeners.changed(owner)
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
        host = self.hosting.spawner() if adopted is None else self.hosting.client
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
        session.on_command(
            lambda record, finished: self._listeners.command(session, record, finished)
        )
        session.on_exit(self._forget)
        session.set_hooks(activity=self._activity, retained=self._budget.change)
        if restored is not None:
            self._budget.change(session.retained_bytes)
        self._continuity.starting(session, cwd, saved, adopted[0] if adopted else None)
        try:
            session.start()
        except Exception:
            self._continuity.start_failed(session)
            raise
        self._sessions[session.id] = session
        self.start_culling()  # here, where a loop surely runs; a no-op when already started
        return session

    def resolve_cwd(self, cwd: str | None) -> str:
        """The directory a shell starts in: inside the root directory, existing (``cwd.py``)."""
        return resolve_cwd(self.root_dir, cwd if cwd is not None else self.default_cwd)

    def rename(self, owner: str, session_id: str, name: str) -> PtySession:
        """Give ``owner``'s session another name, unique among the owner's sessions."""
        session = self.get(owner, session_id)
        if name != session.name and any(s.name == name for s in self.sessions(owner)):
            raise SessionNameTaken(name)
        session.name = name
        self._continuity.renamed(session, name)
        self._listeners.changed(owner)
        return session

    async def close(self, owner: str, session_id: str) -> int:
        """Terminate ``owner``'s session and everything started from it; return the exit code."""
        return await self.get(owner, session_id).terminate()

    def _forget(self, session: PtySession) -> None:
        if self._sessions.pop(session.id, None) is not None:
            self._budget.forget(session)
        self._continuity.ended(session)
        log.info("terminal %s ended with code %s", session.id, session.exit_code)
        self._listeners.exited(session)
        self._listeners.changed(session.owner)

    def notify_changed(self, owner: str) -> None:
        """Tell listeners that ``owner``'s list changed (attach counts, for instance)."""
        self._listeners.changed(owner)

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

    # -- server start and stop (continuity.py) -----------------------------------------------
    def revive(self) -> list[PtySession]:
        """Bring back what a previous server on this root left: the PTY host's shells, adopted,
        and a new shell for each other saved session (``comeback.py``)."""
        return self._continuity.revive(self)

    async def close_all(self) -> None:
        """Server shutdown: let the PTY host keep its shells, terminate every other one.

        Either way each session stays saved for revival (or, kept by the host, for adoption).
        """
        self.stop_culling()
        await self._continuity.close_all()

    def close_all_blocking(self) -> int:
        """End every live session without an event loop (interpreter exit, an ``atexit`` hook
        where ``stop_extension`` never ran: ``Continuity.close_all_blocking``); return how many."""
        return self._continuity.close_all_blocking(self.limits.kill_grace)

    def is_kept(self, session: PtySession) -> bool:
        """Whether ``session`` ended only because the server stops, and a later one revives it."""
        return self._continuity.is_kept(session)

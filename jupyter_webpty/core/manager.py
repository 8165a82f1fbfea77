"""Named sessions per owner: creation with limits, lookup, culling of idle detached sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from . import _spawn
from .errors import InvalidCwd, SessionLimitReached, SessionNameTaken, SessionNotFound
from .integration import integrate
from .marks import CommandRecord
from .session import Limits, PtySession

log = logging.getLogger(__name__)

#: What the retained-output budget leaves each session at least: a screen or two to restore.
_MIN_RETAINED = 64 * 1024


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
        max_commands: int = 1000,
    ) -> None:
        self.argv = list(argv)
        self.root_dir = str(Path(root_dir).resolve())
        self.default_cwd = default_cwd
        self._env = dict(os.environ if env is None else env) | dict(extra_env or {})
        self.limits = limits or Limits()
        self.max_sessions_per_user = max_sessions_per_user
        self.max_sessions = max_sessions
        self.max_retained_bytes = max_retained_bytes
        self._retained_total = 0  # output retained by all live sessions (see _retained)
        self.cull_timeout = cull_timeout
        self.kill_on_exit = kill_on_exit
        self._on_activity = on_activity
        self._last_activity_report = 0.0
        self._sessions: dict[str, PtySession] = {}
        self._listeners: list[Listener] = []
        self._cull_handle: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[int]] = set()
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
        session = PtySession(
            self._spawn_argv,
            owner=owner,
            name=name,
            cwd=self.resolve_cwd(cwd),
            env=self._spawn_env,
            cols=cols,
            rows=rows,
            limits=self.limits,
            kill_on_exit=self.kill_on_exit,
            integrated=self.integrated,
            max_commands=self.max_commands,
        )
        session.on_command(lambda record, finished: self._command(session, record, finished))
        session.on_exit(self._forget)
        session.on_activity(self._activity)
        session.on_retained(self._retained)
        session.start()
        self._sessions[session.id] = session
        self.start_culling()  # here, where a loop surely runs; a no-op when already started
        log.info("terminal %s (%r) started for %s", session.id, name, owner)
        self._changed(owner)
        return session

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
        self._changed(owner)
        return session

    async def close(self, owner: str, session_id: str) -> int:
        """Terminate ``owner``'s session and everything started from it; return the exit code."""
        return await self.get(owner, session_id).terminate()

    async def close_all(self) -> None:
        """Terminate every session (server shutdown)."""
        self.stop_culling()
        sessions = [s for s in self._sessions.values() if s.is_alive]
        results = await asyncio.gather(*(s.terminate() for s in sessions), return_exceptions=True)
        for session, result in zip(sessions, results, strict=True):
            if isinstance(result, BaseException):
                log.error("closing terminal %s failed: %s", session.id, result)

    def close_all_blocking(self) -> int:
        """End every live session without an event loop (interpreter exit); return how many.

        A server stopped by SIGINT without a tty (JupyterHub's spawners do that) exits through
        KeyboardInterrupt and never runs ``stop_extension``; an ``atexit`` hook calls this. All
        sessions go through one ladder together, as ``close_all`` does.
        """
        shells = [s.pid for s in self._sessions.values() if s.is_alive and s.pid is not None]
        _spawn.end_sessions_blocking(shells, self.limits.kill_grace)
        for pid in shells:
            _spawn.wait(pid)
        return len(shells)

    def _forget(self, session: PtySession) -> None:
        if self._sessions.pop(session.id, None) is not None:
            self._retained_total -= session.retained_bytes
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

    # -- retained output budget --------------------------------------------------------------
    @property
    def retained_bytes(self) -> int:
        """Output retained by all live sessions, in bytes."""
        return self._retained_total

    def _retained(self, change: int) -> None:
        # Called per read: one addition, and the trimming only once the budget is exceeded.
        self._retained_total += change
        if self.max_retained_bytes and self._retained_total > self.max_retained_bytes:
            self._enforce_budget()

    def _enforce_budget(self) -> None:
        """Trim scrollback until all sessions together retain at most ~90 % of the budget.

        Detached sessions give up their oldest output first, least recently active first:
        nobody watches them, and a resume then shows their screen (restore points permitting)
        rather than all of their history. Attached sessions follow only when that is not
        enough. Each session keeps at least ``_MIN_RETAINED`` bytes. The 10 % headroom makes
        the sort here rare: one per tenth of the budget of new output.
        """
        target = self.max_retained_bytes - self.max_retained_bytes // 10
        victims = sorted(
            (s for s in self._sessions.values() if s.is_alive),
            key=lambda s: (s.clients > 0, s.last_activity),
        )
        for session in victims:
            excess = self._retained_total - target
            if excess <= 0:
                break
            size = session.retained_bytes
            keep = max(_MIN_RETAINED, size - excess)
            if keep < size:
                self._retained_total -= session.trim_retained(keep)

    # -- culling -----------------------------------------------------------------------------
    def start_culling(self) -> None:
        """Close detached sessions idle longer than ``cull_timeout`` seconds (0: never)."""
        if self.cull_timeout > 0 and self._cull_handle is None:
            interval = min(max(self.cull_timeout / 4, 0.25), 60.0)
            self._cull_handle = asyncio.get_running_loop().call_later(interval, self._cull)

    def stop_culling(self) -> None:
        """Stop the culling timer."""
        if self._cull_handle is not None:
            self._cull_handle.cancel()
            self._cull_handle = None

    def _cull(self) -> None:
        self._cull_handle = None
        now = time.time()
        for session in list(self._sessions.values()):
            try:
                idle = now - session.last_activity
                if session.is_alive and session.clients == 0 and idle > self.cull_timeout:
                    log.info("culling terminal %s idle for %.0f s", session.id, idle)
                    task = asyncio.get_running_loop().create_task(session.terminate())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
            except Exception:
                log.exception("culling terminal %s failed", session.id)
        with contextlib.suppress(RuntimeError):
            self.start_culling()

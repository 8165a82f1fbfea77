"""The jupyter-server extension: configuration, wiring and lifetime. Config lives only here (and in
``session_limits.py``, the options that size each session, which ``WebPtyApp`` inherits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.extension.application import ExtensionApp
from traitlets import (
    Bool,
    CaselessStrEnum,
    Dict,
    Float,
    Integer,
    List,
    Unicode,
    Union,
)

from .audit import AuditLog
from .core import MAX_COMMANDS, SessionManager
from .endpoints import mount
from .persistence import Persistence
from .session_limits import SessionLimits
from .shell_command import shell_argv
from .shutdown import Shutdown
from .sioserver import TerminalServer
from .transport import TerminalEvents

#: Our shell init files (package data), by shell: see core/integration.py.
SHELL_DIR = Path(__file__).parent / "shell"


class WebPtyApp(SessionLimits, ExtensionApp):
    """Serve persistent PTY sessions to the browser over Socket.IO."""

    name = "jupyter_webpty"
    load_other_extensions = True

    shell_command = Union(
        [List(Unicode()), Unicode()],
        default_value=None,
        allow_none=True,
        help=(
            "Command of a new session: a list, a JSON list or a string split like a shell "
            "would ('/bin/zsh -l'). Checked at startup: a missing program stops the server. "
            "Default: $SHELL as a login shell, else /bin/sh -l."
        ),
    ).tag(config=True)
    extra_env = Dict(per_key_traits=None, help="Extra environment variables for new sessions.").tag(
        config=True
    )
    default_cwd = Unicode(
        "",
        help="Directory new sessions start in, relative to the server's root_dir (default: root_dir).",
    ).tag(config=True)
    max_sessions_per_user = Integer(
        20, min=0, help="Most live sessions one owner may have at once (0: no limit)."
    ).tag(config=True)
    max_sessions = Integer(
        0, min=0, help="Most live sessions on this server at once (0: no limit)."
    ).tag(config=True)
    max_retained_bytes = Integer(
        128 * 1024 * 1024,
        min=0,
        help=(
            "Output retained by all sessions together (bytes; 0: no limit). Past it the oldest "
            "detached sessions' scrollback is trimmed first, down to 64 KiB each."
        ),
    ).tag(config=True)
    cull_inactive_timeout = Integer(
        0,
        min=0,
        help="Close detached sessions without input or output for this long (seconds; 0 disables).",
    ).tag(config=True)
    kill_on_exit = Bool(
        True,
        help="When the shell exits, also end the jobs it left running on the terminal.",
    ).tag(config=True)
    session_owner = CaselessStrEnum(
        ["auto", "server", "user"],
        default_value="auto",
        help=(
            "Who owns sessions. 'server': everyone the server lets in is its owner (right for "
            "single-user servers, where token clients get random anonymous names). 'user': the "
            "authenticated username (JupyterHub sharing, custom identity providers). 'auto': "
            "'server' with jupyter-server's own identity providers, else 'user'."
        ),
    ).tag(config=True)
    serve_terminals_api = Bool(
        False,
        help=(
            "Also serve Jupyter's terminal API (api/terminals, terminals/websocket/{name}, "
            "terminado's frames) from webpty sessions, in place of jupyter_server_terminals' "
            "(for VS Code, scripts and older frontends). See docs/terminado.md."
        ),
    ).tag(config=True)

    shell_integration = Bool(
        True,
        help=(
            "Start bash and zsh with jupyter-webpty's init files, which run the user's usual "
            "start-up files and then mark prompts, commands, exit codes and the cwd (OSC 133/"
            "633/7) for the command log and run(). Only for a bare interactive shell command "
            "(bash or zsh with no arguments but -l, --login, -i); other commands run untouched."
        ),
    ).tag(config=True)
    max_commands = Integer(
        MAX_COMMANDS, min=1, help="Commands kept in each session's command log (shell integration)."
    ).tag(config=True)
    audit_log = Unicode(
        "",
        help=(
            "File the server appends one JSON line to per finished command (owner, session, cwd, "
            "command line, exit code, times), from shell-integration marks. Empty: off."
        ),
    ).tag(config=True)

    revive_sessions = Bool(
        True,
        help=(
            "Save each session's name, working directory, size and last scrollback_bytes of "
            "output to a private file (0600) as it runs, and revive it as a new shell when the "
            "next server starts on the same root_dir (after a restart or a crash). Sessions the "
            "user closed, and shells that exited by themselves, are never revived. False: "
            "nothing is written, and what an earlier run saved for this root_dir is deleted."
        ),
    ).tag(config=True)
    revive_dir = Unicode(
        "",
        help=(
            "Directory for the saved sessions; one subdirectory per user and root_dir is made "
            "in it (default: <Jupyter data dir>/webpty/sessions)."
        ),
    ).tag(config=True)

    persist_sessions = Bool(
        False,
        help=(
            "Keep shells running through server restarts: a per-user PTY host process (started "
            "on demand, one per root_dir, reachable only by this Unix user) owns them, and the "
            "next server adopts them with their jobs, environment, screen and stream offsets. "
            "Shutting the server down then leaves the shells running; `jupyter webpty "
            "list-hosts` and `jupyter webpty stop-host` find and end them. False: every shell "
            "ends with the server (and, with revive_sessions, comes back as a new one)."
        ),
    ).tag(config=True)
    host_idle_timeout = Float(
        86400.0,
        min=0,
        help=(
            "Seconds the PTY host keeps shells while no server is attached to it, reading what "
            "they print into each session's scrollback; then it ends them and exits. 0: never."
        ),
    ).tag(config=True)

    fast_path = Bool(
        True,
        help=(
            "Send output and take keystrokes past python-socketio's and tornado's queues "
            "(jupyter_webpty/fastpath.py; A/B figures in bench/README.md). "
            "False: every packet takes python-socketio's public path, same protocol."
        ),
    ).tag(config=True)

    manager: SessionManager
    events: TerminalEvents | None = None
    sio: TerminalServer | None = None
    _shutdown: Shutdown

    @property
    def _server(self) -> Any:
        # ExtensionApp types serverapp as optional; it is always set once we are loaded.
        assert self.serverapp is not None  # noqa: S101
        return self.serverapp

    def initialize_settings(self) -> None:
        """Build the core from plain values."""
        persistence = Persistence(self._server.root_dir, self.log)
        self.manager = SessionManager(
            shell_argv(self.shell_command, self.extra_env, self.log),
            root_dir=self._server.root_dir,
            default_cwd=self.default_cwd or None,
            extra_env=self.extra_env,
            limits=self.limits(),
            max_sessions_per_user=self.max_sessions_per_user,
            max_sessions=self.max_sessions,
            max_retained_bytes=self.max_retained_bytes,
            cull_timeout=self.cull_inactive_timeout,
            kill_on_exit=self.kill_on_exit,
            on_activity=self._record_activity,
            shell_dir=str(SHELL_DIR) if self.shell_integration else None,
            max_commands=self.max_commands,
            store=persistence.store(
                persistence.revival_dir(self.revive_dir, self._server.data_dir),
                self.scrollback_bytes,
                enabled=self.revive_sessions,
            ),
            host=(
                persistence.host(self._server.runtime_dir, self.host_idle_timeout)
                if self.persist_sessions
                else None
            ),
        )
        if self.audit_log:
            self.manager.on_command(AuditLog(self.audit_log).command)
        self.settings["webpty_manager"] = self.manager
        self._shutdown = Shutdown(self.manager, persistence, self.log)
        self._shutdown.arm(self._server)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Revive the sessions a previous server on this root left (the loop runs now)."""
        revived = self.manager.revive()
        if revived:
            self.log.info("jupyter-webpty: revived %d terminal session(s)", len(revived))

    def _record_activity(self) -> None:
        # jupyter-server's last_activity() reads every "*_last_activity" setting; JupyterHub's
        # idle culler sees it through jupyterhub-singleuser's activity reports.
        self._server.web_app.settings["webpty_last_activity"] = utcnow()

    def initialize_handlers(self) -> None:
        """Mount the Socket.IO endpoint and the REST API, unless terminals are disabled."""
        if not self._server.terminals_enabled:
            self.log.info("jupyter-webpty: terminals are disabled (ServerApp.terminals_enabled)")
            return
        self.sio, self.events, routes = mount(
            self._server.web_app,
            self._server.base_url,
            self.manager,
            self.session_owner,
            fast_path=self.fast_path,
            terminals_api=self.serve_terminals_api,
        )
        self.handlers.extend(routes)

    async def stop_extension(self) -> None:
        """Close every session on server shutdown, leaving no process behind."""
        await self._shutdown.stop(self.events, self.sio)

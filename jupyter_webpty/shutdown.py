"""Ending every session when the server stops, however it stops.

jupyter-server calls the app's ``stop_extension`` (hence ``Shutdown.stop``) when it stops
cleanly: SIGTERM, ``jupyter server stop``, the UI's Shut Down. ``stop_on_signals`` sends SIGHUP,
and SIGINT without a tty, down that path too; the at-exit hook is the last resort when the
server exits without it. Plain arguments only: the app owns the config (``app.py``).
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import SessionManager
    from .persistence import Persistence
    from .sioserver import TerminalServer
    from .transport import TerminalEvents


def stop_on_signals(server: object, log: logging.Logger) -> None:
    """Let SIGHUP, and SIGINT without a tty, stop the server as SIGTERM does.

    Only where jupyter-server installed its own SIGTERM handler (its own process; not when
    embedded, as in pytest-jupyter), and it is that handler that they get.

    SIGINT: with no tty (JupyterHub's local spawners, systemd, containers) jupyter-server
    installs no handler, so Python's ``KeyboardInterrupt`` struck the main thread wherever
    it was and the server exited without ``stop_extension``. Wherever includes
    ``ThreadPoolExecutor`` starting a worker between ``start()`` and registering it for
    exit: that thread then waits forever and the interpreter with it, before any exit hook
    (a hang seen about once in a dozen stops). A server with a tty keeps its own handler
    (the "Shutdown this Jupyter server (y/[n])?" prompt).

    SIGHUP: a server whose terminal goes away gets it; by default it died on the spot,
    without ``stop_extension``, and the shells' ``nohup``-ed jobs outlived it. A server
    started under ``nohup`` (SIGHUP inherited as ignored) asked to survive hangups: it keeps
    ignoring them.
    """
    on_term = signal.getsignal(signal.SIGTERM)
    if getattr(on_term, "__self__", None) is not server:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_term)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        log.info("jupyter-webpty: SIGHUP is ignored (nohup), and stays so")
        return
    signal.signal(signal.SIGHUP, on_term)


class Shutdown:
    """Closes a server's sessions when it stops: in ``stop``, or at exit if that never ran."""

    def __init__(
        self, manager: SessionManager, persistence: Persistence, log: logging.Logger
    ) -> None:
        self._manager = manager
        self._persistence = persistence  # the revival store's lock, the PTY host
        self._log = log

    def arm(self, server: object) -> None:
        """Close the sessions at interpreter exit, and route signals to ``server``'s stop."""
        atexit.register(self._close_at_exit)
        stop_on_signals(server, self._log)

    def _close_at_exit(self) -> None:
        # Runs only when the server exited without stop_extension (a KeyboardInterrupt where
        # stop_on_signals could not route SIGINT: an embedded server, another handler).
        ended = self._manager.close_all_blocking()
        if ended:
            self._log.info("jupyter-webpty: ended %d terminal session(s) at exit", ended)

    async def stop(self, events: TerminalEvents | None, sio: TerminalServer | None) -> None:
        """Close every session, leaving no process behind; then release the store and the host.

        ``events`` and ``sio`` are None when terminals are disabled (no handlers were mounted).
        """
        atexit.unregister(self._close_at_exit)
        if events is not None:
            events.stopping()  # pages then say "ended when the server stopped"
        await self._manager.close_all()
        self._persistence.release()
        if sio is not None:
            await sio.stop()  # Engine.IO's ping tasks too, so none is left pending

"""Sessions that come back when a server starts: adopted from the PTY host, or revived.

Two sources, in this order: the shells the PTY host kept (``host.py``; their processes ran on),
then every other session the revival store saved (``revive.py``; a new shell each). The manager
starts each through its ``_start``, so ids, owners, limits and the store's bookkeeping stay the
manager's; this module only decides what each comes back with.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import _spawn
from .cwd import revival_cwd
from .hostclient import Adopted
from .revive import CRASH_SHIFT, SavedSession

if TYPE_CHECKING:  # pragma: no cover
    from .manager import SessionManager
    from .session import PtySession

log = logging.getLogger(__name__)


def adopted_stream(shell: Adopted, saved: SavedSession | None) -> tuple[int, bytes]:
    """The stream an adopted shell goes on from: (offset of the first byte, the bytes).

    Offsets go on where the last server left them after a clean stop (the store, or the host's
    record of the last offset, says where); after a crash they shift as revived ones do
    (``CRASH_SHIFT``: the store applied it already). If the host dropped output (more than the
    scrollback came while no server ran), the stream restarts at the kept tail, so every old
    offset gets a screen restore rather than a resume across the gap.
    """
    if saved is not None:
        end, data = saved.base + len(saved.data), saved.data
    else:
        end, data = (shell.end if shell.end is not None else CRASH_SHIFT), b""
    if shell.away > len(shell.tail):
        end, data = end + shell.away - len(shell.tail), b""
    return end - len(data), data + shell.tail


class Comeback:
    """One server start's adoption and revival."""

    def __init__(
        self, manager: SessionManager, adopted: Sequence[Adopted], saved: Sequence[SavedSession]
    ) -> None:
        self._manager = manager
        self._adopted = adopted
        self._saved = {s.session_id: s for s in saved}

    def run(self) -> list[PtySession]:
        """Adopt, then revive the rest; sessions that cannot come back are logged and skipped.

        Revived sessions keep their id, owner, name, size, creation time and output, and start
        in their last working directory (or the nearest one that still exists inside the root
        directory), after a line saying they were restored. Limits are not applied: these
        sessions existed.
        """
        sessions, ended = self._adopt()
        back = {session.id for session in sessions}
        manager = self._manager
        for saved in self._saved.values():
            if saved.session_id in back or manager.has(saved.session_id):
                continue
            if saved.session_id in ended:  # exited while no server ran: done, never revived
                if manager.store is not None:
                    manager.store.remove(saved.session_id)
                continue
            cwd = revival_cwd(saved.cwd, manager.root_dir, manager.resolve_cwd)
            try:
                session = manager._start(
                    saved.owner, saved.name, cwd, saved.cols, saved.rows, saved
                )
            except Exception:  # one that cannot start must not keep the others down
                log.exception("could not revive terminal %s", saved.session_id)
                continue
            log.info("terminal %s (%r) revived for %s", session.id, saved.name, saved.owner)
            sessions.append(session)
        return sessions

    def _adopt(self) -> tuple[list[PtySession], set[str]]:
        """Take over the shells the PTY host kept; also return the ids of those that ended."""
        manager = self._manager
        sessions: list[PtySession] = []
        ended: set[str] = set()
        for shell in self._adopted:
            if shell.exit_code is not None or shell.fd is None:
                log.info("terminal %s ended while no server ran (code %s)", shell.id,
                         shell.exit_code)  # fmt: skip
                ended.add(shell.id)
                manager.hosting.forget(shell.id)
                continue
            saved = self._saved.get(shell.id)
            owner = saved.owner if saved else str(shell.meta.get("owner", ""))
            name = saved.name if saved else str(shell.meta.get("name", shell.id))
            cols, rows = _spawn.get_size(shell.fd)
            try:
                session = manager._start(
                    owner, name, manager.root_dir, cols, rows, None,
                    (shell, *adopted_stream(shell, saved)),
                )  # fmt: skip
            except Exception:
                log.exception("could not adopt terminal %s", shell.id)
                continue
            if shell.end is None:
                # After a crash the store may miss what the dead server read last: have
                # full-screen programs draw their screen again (a size jiggle, as tmux does).
                session.repaint()
            log.info("terminal %s (%r) adopted from the PTY host for %s", session.id, name, owner)
            sessions.append(session)
        return sessions, ended

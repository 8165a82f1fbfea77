"""Sessions saved to disk as they run, so that a later server can revive them.

Without the PTY host (``host.py``, ``persist_sessions``) a shell cannot outlive its server; what
can survive is its state. With the host, the same files carry an adopted shell's output across
the restart (``comeback.py``). Per session the store keeps two files in one directory
(``savefiles.py``): ``<id>.json``, the id, owner, name, cwd, size and creation time, rewritten
when one of them changed; ``<id>.log``, the output, bounded to about twice ``scrollback_bytes``.

Writes stay off the hot path: a read only notes where the unsaved output starts; a timer on
the loop (every ``interval`` seconds, only while output comes) takes that output from the
session's retained chunks (references, no copy) and hands it to one worker thread, which also
does removals in order (a removal never races a write). The store holds no output of its own
between writes: holding each read until the next write kept chunks alive that retention had
already dropped, ~1.6 MB more at the first flood's peak (bench/results/2026-12-02-memory-direct.md).

Rules (README "What survives what"): the files go away when the user closes the session, when
it is culled, and when its shell exits by itself (a shell that ended itself asked for nothing
more); they stay when the server stops (``stop``) or dies, and the next server revives them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .savefiles import Batch, SaveFiles

if TYPE_CHECKING:  # pragma: no cover
    from .session import PtySession

log = logging.getLogger(__name__)

#: Seconds between writes while output comes: what a crash (SIGKILL) may lose at most, beside
#: the write in flight. Coalescing a flood into 4 writes a second keeps its cost to a few µs per
#: read on the loop (bench/README.md "Revive").
INTERVAL = 0.25


@dataclass(frozen=True)
class SavedSession:
    """What a previous server left of one session."""

    session_id: str
    owner: str
    name: str
    cwd: str | None
    cols: int
    rows: int
    created_at: float
    base: int  # stream offset of ``data``'s first byte
    data: bytes


#: Added to the offsets of sessions revived after a crash: a page may have been sent output
#: that never reached the disk (the last write interval), so its offset may point past the
#: saved end, into what the revived session prints next. Shifted this far, every old offset
#: falls before the revived stream and gets a screen restore instead (docs/protocol.md).
CRASH_SHIFT = 1 << 40


def _meta(session: PtySession, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    _, cwd = session.foreground()  # None once the shell ended: keep the last one known
    return {
        "session_id": session.id,
        "owner": session.owner,
        "name": session.name,
        "cwd": cwd or (previous or {}).get("cwd") or session.initial_cwd,
        "cols": session.cols,
        "rows": session.rows,
        "created_at": session.created_at,
    }


class SessionStore:
    """Saves live sessions into ``directory`` and loads what an earlier server saved there."""

    def __init__(
        self, directory: str, scrollback_bytes: int, *, interval: float = INTERVAL
    ) -> None:
        self._files = SaveFiles(Path(directory), scrollback_bytes)
        self._bound = scrollback_bytes
        self._interval = interval
        self._sessions: dict[str, PtySession] = {}
        self._saved_meta: dict[str, dict[str, Any]] = {}  # what is on disk, per id
        self._dirty: set[str] = set()  # metadata may have changed
        self._unsaved: dict[str, int] = {}  # stream offset of the first byte not yet taken
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webpty-revive")
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    def prepare(self) -> None:
        """Create the directory (0700) or tighten its mode."""
        self._files.prepare()

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> list[SavedSession]:
        """Every session saved here, oldest first; unreadable leftovers are removed.

        After a crash their offsets are shifted by ``CRASH_SHIFT``; after a clean stop every
        byte any page was sent is saved, so offsets go on where they were.
        """
        shift = 0 if self._files.take_clean() else CRASH_SHIFT
        saved = []
        for session_id in list(self._files.saved_ids()):
            try:
                saved.append(self._load_one(session_id, shift))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("cannot revive terminal %s (%s); removing its files", session_id, exc)
                self._files.remove(session_id)
        self._files.remove_orphan_logs()
        return sorted(saved, key=lambda s: s.created_at)

    def _load_one(self, session_id: str, shift: int) -> SavedSession:
        meta, base, logged = self._files.read(session_id, shift)
        data = logged[-self._bound :] if self._bound else b""
        cwd = meta.get("cwd")
        return SavedSession(
            session_id=session_id,
            owner=str(meta["owner"]),
            name=str(meta["name"]),
            cwd=str(cwd) if cwd else None,
            cols=int(meta["cols"]),
            rows=int(meta["rows"]),
            created_at=float(meta["created_at"]),
            base=base + len(logged) - len(data),
            data=data,
        )

    # -- tracking ------------------------------------------------------------------------------
    def track(
        self, session: PtySession, *, revived: bool = False, log_end: int | None = None
    ) -> None:
        """Save ``session`` from now on: metadata now, output as it comes (loop thread).

        ``revived``: its log on disk goes on where the revived output starts; ``log_end``: the
        log on disk ends at that offset (an adopted shell's, before what it printed meanwhile).
        """
        if self._stopped:
            return
        self._sessions[session.id] = session
        if log_end is not None:
            self._files.log_ends_at(session.id, log_end)
        elif revived:
            self._files.log_ends_at(session.id, session.end)
        self._save_meta(session)
        session.set_hooks(
            size=lambda: self.changed(session),
            record=lambda data, end: self._append(session.id, data, end),
            trim=self._save_now,
        )

    def changed(self, session: PtySession) -> None:
        """``session``'s name or size changed: save its metadata with the next write."""
        if session.id in self._sessions:
            self._dirty.add(session.id)
            self._schedule()

    def forget(self, session_id: str) -> None:
        """The session was closed or ended by itself: remove its files."""
        if self._sessions.pop(session_id, None) is None:
            return
        self._unsaved.pop(session_id, None)
        self._dirty.discard(session_id)
        self._saved_meta.pop(session_id, None)
        if not self._stopped:
            self._writer.submit(self._files.remove, session_id)

    def extend(self, session_id: str, data: bytes, end: int) -> None:
        """Save ``data``, which ends at offset ``end``, as if the session had just read it.

        ``data`` must be the end of what the session retains (a preloaded tail): the write
        takes the bytes from there.
        """
        if data:
            self._append(session_id, data, end)

    def remove(self, session_id: str) -> None:
        """Remove a saved session that will not come back (it ended while no server ran; it
        was never tracked by this server, so ``forget`` has nothing to do)."""
        self._files.remove(session_id)

    def discard_all(self) -> None:
        """Remove every file saved here (revival is off, or the user asked)."""
        self._files.discard_all()

    def _append(self, session_id: str, data: bytes, end: int) -> None:
        # The hot path: a dict lookup and, once per interval, a timer. The bytes stay where the
        # session retains them until the flush.
        if self._stopped or self._bound == 0:
            return
        if session_id not in self._unsaved:
            self._unsaved[session_id] = end - len(data)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and not self._stopped:
            loop = self._loop = self._loop or _running_loop()
            if loop is not None:
                self._timer = loop.call_later(self._interval, self._flush)

    def _flush(self) -> None:
        self._timer = None
        batch = self._take()
        if batch:
            future = self._writer.submit(self._files.write, batch)
            future.add_done_callback(_log_failure)

    def _save_now(self) -> None:
        """A session's retention is about to be cut below its scrollback (the server-wide
        budget): hand what is unsaved to the writer first, as the next flush would have."""
        if self._stopped:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._flush()

    def _take(self) -> list[Batch]:
        """What to write: per session, new metadata (or None) and the unsaved output."""
        batch = []
        for session_id in list(self._unsaved.keys() | self._dirty):
            start = self._unsaved.pop(session_id, None)
            session = self._sessions.get(session_id)
            if session is None:
                continue
            meta = _meta(session, self._saved_meta.get(session_id))
            encoded = None
            if meta != self._saved_meta.get(session_id):
                self._saved_meta[session_id] = meta
                encoded = json.dumps(meta).encode()
            first, pieces = session.output.pieces(start) if start is not None else (0, [])
            # The writer is behind or output outran the interval: only the newest ``bound``
            # bytes are needed (older ones fell out of retention already, or would be compacted).
            size = sum(len(piece) for piece in pieces)
            while pieces and size - len(pieces[0]) >= self._bound:
                size -= len(pieces[0])
                first += len(pieces.pop(0))
            batch.append((session_id, encoded, first, pieces))
        self._dirty.clear()
        return batch

    def _save_meta(self, session: PtySession) -> None:
        meta = self._saved_meta[session.id] = _meta(session)
        self._files.write_meta(session.id, json.dumps(meta).encode())

    def stop(self) -> None:
        """The server stopped: write what is pending, now, save nothing more, mark it clean.

        Called after the shells ended, so that all output any page was sent is saved.
        """
        if self._stopped:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._take()
        self._stopped = True
        # The writes in flight first, then the rest here: at interpreter exit (close_all_blocking)
        # the executor takes no new work.
        self._writer.shutdown(wait=True)
        if batch:
            self._files.write(batch)
        self._files.mark_clean()


def restored_line(saved: SavedSession, cwd: str) -> bytes:
    """What a revived session shows between its old output and its new shell.

    First it undoes what a program killed mid-screen may have left: attributes, a scroll region
    (saved and restored cursor around it, as setting one moves the cursor), the alternate
    screen, mouse and application modes, a hidden cursor.
    """
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    moved = "" if saved.cwd in (None, cwd) else f"; {saved.cwd} is gone, starting in {cwd}"
    reset = (
        "\x1b[0m\x1b7\x1b[r\x1b8\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l"
        "\x1b[?2004l\x1b[?1l\x1b>\x1b[?25h"
    )
    text = (
        f"\r\n\x1b[7m restored after restart \x1b[0m\x1b[2m {when}: a new shell; the old one "
        f"and its jobs ended with the server{moved}\x1b[0m\r\n"
    )
    return (reset + text).encode()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("the revival writer failed: %s", exc, exc_info=exc)

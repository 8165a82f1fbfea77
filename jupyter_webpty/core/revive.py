"""Sessions saved to disk as they run, so that a later server can revive them.

Without the PTY host (``host.py``, ``persist_sessions``) a shell cannot outlive its server; what
can survive is its state. With the host, the same files carry an adopted shell's output across
the restart (``comeback.py``). Per session the store keeps two files in one directory (0700;
files 0600):

* ``<id>.json``: id, owner, name, cwd, size, creation time; rewritten atomically (temporary
  file + ``os.replace``) when one of them changed;
* ``<id>.log``: a header line ``WEBPTY-LOG 1 <offset>\\n`` (the stream offset of the byte after
  it), then output bytes appended as they come. Past twice ``scrollback_bytes`` it is compacted
  to the last ``scrollback_bytes`` (a new file renamed over it), so it stays bounded; a crash in
  the middle of an append leaves a shorter, still valid log.

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
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .session import PtySession

log = logging.getLogger(__name__)

_HEADER = b"WEBPTY-LOG 1 "
_VALID_ID = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
#: Seconds between writes while output comes: what a crash (SIGKILL) may lose at most, beside
#: the write in flight. Coalescing a flood into 4 writes a second keeps its cost to a few µs per
#: read on the loop (bench/README.md "Revive").
INTERVAL = 0.25
#: Most buffers per ``writev`` (Linux's IOV_MAX).
_IOV_MAX = 1024


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
_CLEAN = "stopped"  # a file the store leaves when the server stopped cleanly


#: One session's part of a write: id, new metadata (or None), where the output starts, the output.
_Batch = tuple[str, bytes | None, int, list[memoryview]]


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


def _write_all(fd: int, parts: Sequence[bytes | memoryview]) -> None:
    """Write ``parts`` in order with ``writev``: no joined copy of a flood's megabytes (the
    copies, and the compaction's read of the whole tail, made the first flood of a fresh
    server grow its RSS by ~20 MB; bench "RSS growth in flood")."""
    pending = [memoryview(part) for part in parts if part]
    while pending:
        written = os.writev(fd, pending[:_IOV_MAX])
        while pending and written >= len(pending[0]):
            written -= len(pending.pop(0))
        if written:
            pending[0] = pending[0][written:]


def _write_atomically(path: Path, *parts: bytes | memoryview) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, parts)
    finally:
        os.close(fd)
    temporary.replace(path)


def _header(offset: int) -> bytes:
    return b"%s%d\n" % (_HEADER, offset)


class SessionStore:
    """Saves live sessions into ``directory`` and loads what an earlier server saved there."""

    def __init__(
        self, directory: str, scrollback_bytes: int, *, interval: float = INTERVAL
    ) -> None:
        self.directory = Path(directory)
        self._bound = scrollback_bytes
        self._interval = interval
        self._sessions: dict[str, PtySession] = {}
        self._saved_meta: dict[str, dict[str, Any]] = {}  # what is on disk, per id
        self._dirty: set[str] = set()  # metadata may have changed
        self._unsaved: dict[str, int] = {}  # stream offset of the first byte not yet taken
        self._log_end: dict[str, int] = {}  # writer thread only: stream offset at each log's end
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webpty-revive")
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    def prepare(self) -> None:
        """Create the directory (0700) or tighten its mode."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> list[SavedSession]:
        """Every session saved here, oldest first; unreadable leftovers are removed.

        After a crash their offsets are shifted by ``CRASH_SHIFT``; after a clean stop every
        byte any page was sent is saved, so offsets go on where they were.
        """
        clean = (self.directory / _CLEAN).exists()
        (self.directory / _CLEAN).unlink(missing_ok=True)
        saved = []
        for meta_path in self.directory.glob("*.json"):
            session_id = meta_path.stem
            try:
                saved.append(self._load_one(session_id, meta_path, 0 if clean else CRASH_SHIFT))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("cannot revive terminal %s (%s); removing its files", session_id, exc)
                self._remove_files(session_id)
        for log_path in self.directory.glob("*.log"):  # a log without metadata: half a create
            if not log_path.with_suffix(".json").exists():
                log_path.unlink(missing_ok=True)
        return sorted(saved, key=lambda s: s.created_at)

    def _load_one(self, session_id: str, meta_path: Path, shift: int) -> SavedSession:
        meta = json.loads(meta_path.read_text())
        if not _VALID_ID.match(session_id) or meta["session_id"] != session_id:
            msg = "the file name and the id differ"
            raise ValueError(msg)
        base, logged = shift, b""  # no log yet (a crash before the first write): shifted too
        with contextlib.suppress(FileNotFoundError):
            header, _, logged = self._path(session_id, ".log").read_bytes().partition(b"\n")
            if not header.startswith(_HEADER):
                msg = "the output log has no header"
                raise ValueError(msg)
            base = int(header[len(_HEADER) : len(_HEADER) + 20]) + shift
            if shift:  # the revived session appends to this log: its offsets must agree
                _write_atomically(self._path(session_id, ".log"), _header(base), logged)
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
            self._log_end[session.id] = log_end
        elif revived:
            self._log_end[session.id] = session.end
        self._save_meta(session)
        session.on_record(lambda data, end: self._append(session.id, data, end))
        session.on_size(lambda: self.changed(session))
        session.on_trim(self._save_now)

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
            self._writer.submit(self._remove_files, session_id)

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
        self._remove_files(session_id)

    def discard_all(self) -> None:
        """Remove every file saved here (revival is off, or the user asked)."""
        for path in self.directory.glob("*"):
            if path.suffix in (".json", ".log", ".tmp"):
                path.unlink(missing_ok=True)

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
            future = self._writer.submit(self._write, batch)
            future.add_done_callback(_log_failure)

    def _save_now(self) -> None:
        """A session's retention is about to be cut below its scrollback (the server-wide
        budget): hand what is unsaved to the writer first, as the next flush would have."""
        if self._stopped:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._flush()

    def _take(self) -> list[_Batch]:
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
            first, pieces = session.output_pieces(start) if start is not None else (0, [])
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
        _write_atomically(self._path(session.id, ".json"), json.dumps(meta).encode())

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
            self._write(batch)
        (self.directory / _CLEAN).touch(mode=0o600)

    # -- the writer thread ---------------------------------------------------------------------
    def _path(self, session_id: str, suffix: str) -> Path:
        return self.directory / f"{session_id}{suffix}"

    def _write(self, batch: list[_Batch]) -> None:
        for session_id, meta, start, pieces in batch:
            try:
                if meta is not None:
                    _write_atomically(self._path(session_id, ".json"), meta)
                if pieces:
                    self._write_log(session_id, start, pieces)
            except OSError as exc:
                log.warning("saving terminal %s for revival failed: %s", session_id, exc)
                self._log_end.pop(session_id, None)  # rewrite the log next time

    def _write_log(self, session_id: str, start: int, pieces: list[memoryview]) -> None:
        path = self._path(session_id, ".log")
        end = start + sum(len(piece) for piece in pieces)
        if self._log_end.get(session_id) != start or not path.exists():
            # New, or a gap (output fell out of retention unsaved): the log starts again here.
            _write_atomically(path, _header(start), *pieces)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            try:
                _write_all(fd, pieces)
            finally:
                os.close(fd)
        self._log_end[session_id] = end
        self._compact(session_id, path)

    def _compact(self, session_id: str, path: Path) -> None:
        size = path.stat().st_size
        if size <= 2 * self._bound + 64:
            return
        end = self._log_end[session_id]
        keep = self._bound
        temporary = path.with_name(f".{path.name}.tmp")
        source = os.open(path, os.O_RDONLY)
        try:
            target = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(target, [_header(end - keep)])
                _copy_range(source, target, size - keep, keep)
            finally:
                os.close(target)
        finally:
            os.close(source)
        temporary.replace(path)

    def _remove_files(self, session_id: str) -> None:
        self._log_end.pop(session_id, None)
        for suffix in (".json", ".log"):
            self._path(session_id, suffix).unlink(missing_ok=True)


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


def _copy_range(source: int, target: int, offset: int, count: int) -> None:
    """Append ``count`` bytes of ``source`` from ``offset`` to ``target``, in the kernel where
    it can (``copy_file_range``), else through a 1 MiB buffer; never the whole tail at once."""
    while count > 0:
        try:
            copied = os.copy_file_range(source, target, min(count, 1 << 30), offset)
        except OSError:  # another file system, an old kernel: copy by hand
            copied = 0
        if copied <= 0:
            data = os.pread(source, min(count, 1 << 20), offset)
            if not data:
                return
            _write_all(target, [data])
            copied = len(data)
        offset += copied
        count -= copied


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("the revival writer failed: %s", exc, exc_info=exc)

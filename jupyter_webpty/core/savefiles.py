"""The files of saved sessions (``revive.py``): their format, and the writes the writer thread does.

Per session, in one directory (0700; files 0600):

* ``<id>.json``: the metadata, rewritten atomically (temporary file + ``os.replace``);
* ``<id>.log``: a header line ``WEBPTY-LOG 1 <offset>\\n`` (the stream offset of the byte after
  it), then output bytes appended as they come. Past twice the bound it is compacted to the
  last ``bound`` bytes (a new file renamed over it); a crash in the middle of an append leaves a
  shorter, still valid log.

``SaveFiles`` knows the format and nothing of sessions or the loop; ``SessionStore`` decides
what to write and when, and calls ``write`` and ``remove`` on its one writer thread, in order.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_HEADER = b"WEBPTY-LOG 1 "
_VALID_ID = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
#: Most buffers per ``writev`` (Linux's IOV_MAX).
_IOV_MAX = 1024
_CLEAN = "stopped"  # a file left when the server stopped cleanly

#: One session's part of a write: id, new metadata (or None), where the output starts, the output.
Batch = tuple[str, bytes | None, int, list[memoryview]]


class SaveFiles:
    """The saved sessions' files in ``directory``, logs bounded to about ``bound`` bytes."""

    def __init__(self, directory: Path, bound: int) -> None:
        self.directory = directory
        self._bound = bound
        self._log_end: dict[str, int] = {}  # stream offset at each log's end, as written

    def prepare(self) -> None:
        """Create the directory (0700) or tighten its mode."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)

    def path(self, session_id: str, suffix: str) -> Path:
        """The file of ``session_id`` with ``suffix`` (``.json`` or ``.log``)."""
        return self.directory / f"{session_id}{suffix}"

    # -- what an earlier server left -------------------------------------------------------------
    def take_clean(self) -> bool:
        """Whether the last server stopped cleanly; the mark is removed (one reading per start)."""
        mark = self.directory / _CLEAN
        clean = mark.exists()
        mark.unlink(missing_ok=True)
        return clean

    def saved_ids(self) -> Iterator[str]:
        """The ids that have metadata here."""
        return (path.stem for path in self.directory.glob("*.json"))

    def remove_orphan_logs(self) -> None:
        """Remove logs without metadata (a create cut short)."""
        for log_path in self.directory.glob("*.log"):
            if not log_path.with_suffix(".json").exists():
                log_path.unlink(missing_ok=True)

    def read(self, session_id: str, shift: int) -> tuple[dict[str, Any], int, bytes]:
        """``session_id``'s metadata, the stream offset its logged output starts at, and that
        output. ``shift`` is added to the offset, and a shifted log is rewritten with it, so
        that the revived session's appends agree. Raises ``ValueError`` for a file that is not
        ours, ``OSError`` for one that cannot be read."""
        meta = json.loads(self.path(session_id, ".json").read_text())
        if not _VALID_ID.match(session_id) or meta["session_id"] != session_id:
            msg = "the file name and the id differ"
            raise ValueError(msg)
        base, logged = shift, b""  # no log yet (a crash before the first write): shifted too
        try:
            header, _, logged = self.path(session_id, ".log").read_bytes().partition(b"\n")
        except FileNotFoundError:
            return meta, base, logged
        if not header.startswith(_HEADER):
            msg = "the output log has no header"
            raise ValueError(msg)
        base = int(header[len(_HEADER) : len(_HEADER) + 20]) + shift
        if shift:
            _write_atomically(self.path(session_id, ".log"), _header(base), logged)
        return meta, base, logged

    def discard_all(self) -> None:
        """Remove every file saved here."""
        for path in self.directory.glob("*"):
            if path.suffix in (".json", ".log", ".tmp"):
                path.unlink(missing_ok=True)

    # -- the writes ------------------------------------------------------------------------------
    def log_ends_at(self, session_id: str, end: int) -> None:
        """The log on disk already holds ``session_id``'s output up to ``end`` (a revived or
        adopted session goes on appending to it)."""
        self._log_end[session_id] = end

    def write_meta(self, session_id: str, meta: bytes) -> None:
        """Replace ``session_id``'s metadata."""
        _write_atomically(self.path(session_id, ".json"), meta)

    def write(self, batch: list[Batch]) -> None:
        """Write each session's new metadata and output; a failure costs that session only."""
        for session_id, meta, start, pieces in batch:
            try:
                if meta is not None:
                    self.write_meta(session_id, meta)
                if pieces:
                    self._write_log(session_id, start, pieces)
            except OSError as exc:
                log.warning("saving terminal %s for revival failed: %s", session_id, exc)
                self._log_end.pop(session_id, None)  # rewrite the log next time

    def remove(self, session_id: str) -> None:
        """Remove ``session_id``'s files."""
        self._log_end.pop(session_id, None)
        for suffix in (".json", ".log"):
            self.path(session_id, suffix).unlink(missing_ok=True)

    def mark_clean(self) -> None:
        """Leave the mark that the server stopped cleanly (``take_clean``)."""
        (self.directory / _CLEAN).touch(mode=0o600)

    def _write_log(self, session_id: str, start: int, pieces: list[memoryview]) -> None:
        path = self.path(session_id, ".log")
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

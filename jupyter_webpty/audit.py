"""The operators' audit log: one JSON line per finished command, written by the server.

The shell's marks say what ran; the server, not the shell, writes the line, so a user cannot
edit it from the terminal (a shell can still lie about its command lines: marks are output).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from . import protocol
from .core import CommandRecord, PtySession

log = logging.getLogger(__name__)


class AuditLog:
    """Appends a JSON line to ``path`` for each finished command of any session."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def command(self, session: PtySession, record: CommandRecord, finished: bool) -> None:
        """Write the line of a finished command (a ``SessionManager.on_command`` callback)."""
        if not finished:
            return
        duration = record.duration or 0.0
        line = {
            "owner": session.owner,
            "session_id": session.id,
            "session_name": session.name,
            "cwd": record.cwd,
            "command": record.command,
            "exit_code": record.exit_code,
            "started_at": protocol.describe_time(record.started_at),
            "ended_at": protocol.describe_time(record.started_at + duration),
            "duration": duration,
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        try:
            # One write of one line in append mode: lines from several servers do not mix.
            with self._lock, self.path.open("a", encoding="utf-8") as file:
                file.write(text)
        except OSError as exc:
            log.error("cannot write the audit log %s: %s", self.path, exc)

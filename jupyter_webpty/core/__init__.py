"""The PTY core: sessions, their manager and errors. Standard library and asyncio only."""

from __future__ import annotations

from .errors import (
    InputOverflow,
    InvalidCwd,
    SessionClosed,
    SessionLimitReached,
    SessionNameTaken,
    SessionNotFound,
    SpawnError,
    WebPtyError,
)
from .manager import Listener, SessionManager
from .marks import MAX_COMMANDS, CommandRecord, command_text
from .session import Attached, Limits, PtySession, SessionState

__all__ = [
    "MAX_COMMANDS",
    "Attached",
    "CommandRecord",
    "InputOverflow",
    "InvalidCwd",
    "Limits",
    "Listener",
    "PtySession",
    "SessionClosed",
    "SessionLimitReached",
    "SessionManager",
    "SessionNameTaken",
    "SessionNotFound",
    "SessionState",
    "SpawnError",
    "WebPtyError",
    "command_text",
]

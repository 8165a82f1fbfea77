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
from .listeners import Listener
from .manager import SessionManager
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

"""Errors raised by the PTY core.

* WebPtyError
  x SessionNotFound       -- no session has that id or name for this owner (.key)
  x SessionNameTaken      -- the owner already has a session with that name (.name)
  x SessionLimitReached   -- max sessions would be exceeded (.limit)
  x SessionClosed         -- write/resize after the child exited (.session_id)
  x InputOverflow         -- too much input is waiting for the shell to read it (.limit)
  x InvalidCwd            -- the requested directory is outside the root or missing (.path)
  x SpawnError            -- the command could not be started (.argv)
"""

from __future__ import annotations

from collections.abc import Sequence


class WebPtyError(Exception):
    """Base class of every error the core raises; ``str()`` is fit to show a user."""


class SessionNotFound(WebPtyError):
    """No session has that id or name for this owner (a foreign id looks the same)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no such terminal session: {key!r}")


class SessionNameTaken(WebPtyError):
    """The owner already has a session with that name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a terminal session named {name!r} already exists")


class SessionLimitReached(WebPtyError):
    """Creating another session would exceed a configured limit."""

    def __init__(self, limit: int, scope: str = "per user") -> None:
        self.limit = limit
        super().__init__(f"too many terminal sessions ({limit} {scope}); close one first")


class SessionClosed(WebPtyError):
    """The session's shell has exited; it takes no more input."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__("the terminal session has ended")


class InputOverflow(WebPtyError):
    """The shell is not reading its input and the pending input reached the cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the shell is not reading input; more than {limit} bytes are waiting")


class InvalidCwd(WebPtyError):
    """The requested working directory is outside the root directory or not a directory."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot start in {path!r}: {reason}")


class SpawnError(WebPtyError):
    """The command could not be started."""

    def __init__(self, argv: Sequence[str], reason: str) -> None:
        self.argv = list(argv)
        super().__init__(f"cannot start {self.argv[0] if self.argv else '?'!r}: {reason}")

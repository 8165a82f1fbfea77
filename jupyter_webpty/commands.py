"""``run()``: type a command into a persistent session and get its exit code and output.

With shell integration (bash, zsh started by us) the shell's marks delimit the command: the
first command that starts after our input is ours, and its log entry gives the exit code and the
output's offsets. Without it (sh, busybox, integration off, or a shell that never prompted with
marks) a sentinel does: the line typed is ``printf '%s_S\\n' MARK; eval 'CMD'; printf '%s_E%s\\n'
MARK "$?"`` with a random MARK, and the output is the text between the two printed markers (the
echo of the typed line does not contain them: ``printf`` assembles them). REST only, so the
kernel may run anywhere (another process or host: it never imports the core).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from .api import SessionsClient

#: How long a fresh integrated shell may take to print its first prompt before run() falls
#: back to the sentinel (a user's rc file may be slow; a replaced shell never prompts).
PROMPT_WAIT = 10.0
_POLL_FIRST = 0.02
_POLL_MAX = 0.25


@dataclass(frozen=True)
class RunResult:
    """What ``run()`` found: exit code (None if unknown), output text, seconds, truncation.

    ``truncated`` is True when the start of the output fell out of the session's retained
    output (``scrollback_bytes``) before it could be read: ``output`` is then its tail.
    """

    command: str
    exit_code: int | None
    output: str
    duration: float
    truncated: bool = False

    def __repr__(self) -> str:
        return (
            f"RunResult(command={self.command!r}, exit_code={self.exit_code}, "
            f"duration={self.duration:.3f}, truncated={self.truncated}, "
            f"output={len(self.output)} chars)"
        )


class CommandFailed(RuntimeError):
    """``run(..., check=True)`` of a command that exited non-zero (``.result``)."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        super().__init__(f"command {result.command!r} exited with code {result.exit_code}")


class CommandTimeout(TimeoutError):
    """The command did not finish in time; it still runs in the session (``.result``: so far)."""

    def __init__(self, result: RunResult, timeout: float, session: str) -> None:
        self.result = result
        super().__init__(
            f"command {result.command!r} did not finish within {timeout} s; it is still "
            f"running in terminal session {session!r}"
        )


class SessionBusy(RuntimeError):
    """A command already runs in the session: typed text would go to it, not to the shell."""


class _Poll:
    """Waits between polls, a little longer each time, until a deadline."""

    def __init__(self, timeout: float | None) -> None:
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._delay = _POLL_FIRST

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def wait(self) -> None:
        delay = self._delay
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - time.monotonic()))
        time.sleep(delay)  # polling a REST API: the kernel has no event to wait on
        self._delay = min(self._delay * 1.5, _POLL_MAX)


def _quote(text: str) -> str:
    """``text`` in POSIX single quotes."""
    return "'" + text.replace("'", "'\\''") + "'"


def run(
    client: SessionsClient,
    name: str,
    cmd: str,
    *,
    timeout: float | None = None,
    check: bool = False,
) -> RunResult:
    """Run ``cmd`` in the session called ``name`` (created if missing); see ``WebTerminal.run``."""
    started = time.monotonic()
    session_id = client.ensure(name)["session_id"]
    log = client.commands(session_id)
    if log["shell_integration"] and not log["has_prompted"]:
        first = _Poll(PROMPT_WAIT if timeout is None else min(timeout, PROMPT_WAIT))
        while not first.expired():
            first.wait()
            log = client.commands(session_id)
            if log["has_prompted"]:
                break
    poll = _Poll(None if timeout is None else max(0.0, timeout - (time.monotonic() - started)))
    if log["has_prompted"]:
        running = next((c for c in log["commands"] if c["end"] is None), None)
        if running is not None:
            msg = f"{running['command'] or 'a command'!r} is still running in session {name!r}"
            raise SessionBusy(msg)
        result = _run_marked(client, session_id, cmd, log["end"], poll, timeout, name, started)
    else:
        result = _run_sentinel(client, session_id, cmd, poll, timeout, name, started)
    if check and result.exit_code != 0:
        raise CommandFailed(result)
    return result


def _run_marked(
    client: SessionsClient,
    session_id: str,
    cmd: str,
    mark: int,
    poll: _Poll,
    timeout: float | None,
    name: str,
    started: float,
) -> RunResult:
    # Several lines become one compound command: one log entry, the last exit code.
    line = f"{{\n{cmd}\n}}" if "\n" in cmd.strip("\n") else cmd.strip("\n")
    client.type(session_id, line + "\n")
    while True:
        log = client.commands(session_id)
        ours = next((c for c in log["commands"] if c["start"] >= mark), None)
        if ours is not None and ours["end"] is not None:
            text = client.output(session_id, ours["start"], ours["end"])
            return RunResult(
                cmd,
                ours["exit_code"],
                text["text"],
                ours["duration"] or 0.0,
                text["truncated"],
            )
        if poll.expired():
            start = ours["start"] if ours is not None else mark
            text = client.output(session_id, start)
            partial = RunResult(
                cmd, None, text["text"], time.monotonic() - started, text["truncated"]
            )
            raise CommandTimeout(partial, timeout or 0.0, name)
        poll.wait()


def _run_sentinel(
    client: SessionsClient,
    session_id: str,
    cmd: str,
    poll: _Poll,
    timeout: float | None,
    name: str,
    started: float,
) -> RunResult:
    marker = f"__webpty_{secrets.token_hex(8)}"
    begin, finish = f"{marker}_S\n", f"{marker}_E"
    mark = client.commands(session_id)["end"]
    client.type(
        session_id,
        f"printf '%s_S\\n' {marker}; eval {_quote(cmd)}; printf '%s_E%s\\n' {marker} \"$?\"\n",
    )
    while True:
        text = client.output(session_id, mark)
        body = text["text"]
        at = body.find(begin)
        output_start = at + len(begin) if at >= 0 else 0
        end = body.find(finish, output_start)
        truncated = at < 0 and text["truncated"]
        if end >= 0 and (at >= 0 or truncated):
            code_text = body[end + len(finish) :].split("\n", 1)[0].strip()
            return RunResult(
                cmd,
                int(code_text) if code_text.isdigit() else None,
                body[output_start:end],
                time.monotonic() - started,
                truncated,
            )
        if poll.expired():
            partial = RunResult(
                cmd, None, body[output_start:], time.monotonic() - started, truncated
            )
            raise CommandTimeout(partial, timeout or 0.0, name)
        poll.wait()

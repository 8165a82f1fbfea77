"""Shell integration against real bash and zsh with a user's own rc files, and run() over REST."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_webpty import protocol
from jupyter_webpty.api import SessionsClient
from jupyter_webpty.commands import CommandFailed, CommandTimeout, SessionBusy, run

from .conftest import PROMPT, wait_until
from .processes import processes_with

BASH = shutil.which("bash") or "/bin/bash"
ZSH = shutil.which("zsh")

BASHRC = """\
PROMPT_COMMAND='echo -n "[pc:$?]"'
set -u
alias hi='echo hello-alias'
PS1='webpty$ '
"""
ZSHRC = """\
precmd() { false; }
setopt nounset
alias hi='echo hello-alias'
PS1='webpty$ '
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A HOME with the user's own rc files."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(BASHRC)
    (home / ".zshrc").write_text(ZSHRC)
    return home


@pytest.fixture
def shell() -> list[str]:
    """The session command: a bare interactive bash (integrated by the rule)."""
    return [BASH, "-i"]


@pytest.fixture
def webpty_config(home: Path, shell: list[str], tmp_path: Path) -> dict[str, Any]:
    return {
        "shell_command": shell,
        "extra_env": {"PS1": PROMPT, "HISTFILE": "/dev/null", "HOME": str(home)},
        "audit_log": str(tmp_path / "audit.jsonl"),
        "scrollback_bytes": 128 * 1024,
    }


async def commands_when(
    rest: SessionsClient, session_id: str, count: int, timeout: float = 10.0
) -> list[protocol.CommandInfo]:
    """The command log once ``count`` commands finished."""
    found: list[protocol.CommandInfo] = []

    async def finished() -> bool:
        nonlocal found
        found = (await asyncio.to_thread(rest.commands, session_id))["commands"]
        return sum(c["end"] is not None for c in found) >= count

    deadline = asyncio.get_running_loop().time() + timeout
    while not await finished():
        if asyncio.get_running_loop().time() > deadline:
            msg = f"{count} finished commands not seen; log: {found}"
            raise TimeoutError(msg)
        await asyncio.sleep(0.02)
    return found


async def exercise(client: Any, rest: SessionsClient) -> tuple[str, list[protocol.CommandInfo]]:
    """Type the issue's cases into a new session; return its id and the command log."""
    events: list[dict[str, Any]] = []
    client.sio.on(protocol.COMMAND, events.append)
    session_id = await client.create()
    script = [
        "true\n",
        "false\n",
        "(exit 3)\n",
        "hi\n",
        "for i in 1 2; do\n echo x$i\ndone\n",
    ]
    for count, line in enumerate(script, 1):
        await client.send(session_id, line)
        await commands_when(rest, session_id, count)
    # Ctrl+C'd: wait until it runs, then interrupt.
    await client.send(session_id, "sleep 30\n")
    await wait_until(lambda: any(e["command"]["command"] == "sleep 30" for e in events))
    # The start mark comes from bash's DEBUG trap, before the fork: a ^C that early interrupts
    # the trap, not sleep. Wait for sleep itself, as a user would see it run.
    await wait_until(lambda: bool(processes_with("sleep\x0030")))
    await client.send(session_id, "\x03")
    await commands_when(rest, session_id, 6)
    # Typed while the previous one still runs (typeahead).
    await client.send(session_id, "sleep 0.3; echo one\n")
    await wait_until(lambda: any(e["command"]["command"] == "sleep 0.3; echo one" for e in events))
    await client.send(session_id, "echo two\n")
    log = await commands_when(rest, session_id, 8)
    await wait_until(lambda: sum(e["event"] == protocol.COMMAND_FINISHED for e in events) >= 8)
    started = [e["command"]["seq"] for e in events if e["event"] == protocol.COMMAND_STARTED]
    assert started == list(range(1, 9))
    return session_id, log


def summary(log: list[protocol.CommandInfo]) -> list[tuple[str | None, int | None]]:
    return [(c["command"], c["exit_code"]) for c in log]


async def output_of(rest: SessionsClient, session_id: str, command: protocol.CommandInfo) -> str:
    reply = await asyncio.to_thread(rest.output, session_id, command["start"], command["end"])
    assert not reply["truncated"]
    return reply["text"]


#: The command log ``exercise`` makes, as each shell reports its command lines.
_MARKS_LOG = [
    ("true", 0),
    ("false", 1),
    ("(exit 3)", 3),
    ("hi", 0),
    ("for i in 1 2; do  echo x$i; done", 0),  # bash joins a compound command's lines
    ("sleep 30", 130),
    ("sleep 0.3; echo one", 0),
    ("echo two", 0),
]
_ZSH_FOR = "for i in 1 2; do\n echo x$i\ndone"  # zsh keeps them


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        pytest.param([BASH, "-i"], _MARKS_LOG, id="bash"),
        pytest.param(
            [ZSH or "zsh", "-l"],
            [(_ZSH_FOR, 0) if c.startswith("for ") else (c, e) for c, e in _MARKS_LOG],
            id="zsh",
            marks=pytest.mark.skipif(ZSH is None, reason="zsh is not installed (scripts/install)"),
        ),
    ],
)
async def test_marks_with_a_users_rc(
    connect: Any, rest: SessionsClient, shell: list[str], expected: list[tuple[str, int]]
) -> None:
    async with connect() as client:
        session_id, log = await exercise(client, rest)
        assert summary(log) == expected
        assert await output_of(rest, session_id, log[3]) == "hello-alias\n"
        assert await output_of(rest, session_id, log[4]) == "x1\nx2\n"
        assert await output_of(rest, session_id, log[0]) == ""
        assert all(c["cwd"] == log[0]["cwd"] and c["cwd"] for c in log)
        info = (await asyncio.to_thread(rest.list))[0]
        assert info["shell_integration"] is True
        assert info["last_exit_code"] == 0
        assert info["running_command"] is None
        if shell[0] == BASH:
            # The user's PROMPT_COMMAND still runs and still sees each command's $?.
            text = client.terminal(session_id).text
            for code in (0, 1, 3, 130):
                assert f"[pc:{code}]" in text


async def test_run_returns_exit_code_and_exact_output(rest: SessionsClient) -> None:
    result = await asyncio.to_thread(run, rest, "r", "printf 'alpha\\n  beta\\n'; hi")
    assert (result.exit_code, result.output, result.truncated) == (
        0,
        "alpha\n  beta\nhello-alias\n",
        False,
    )
    failed = await asyncio.to_thread(run, rest, "r", "(exit 7)")
    assert failed.exit_code == 7
    with pytest.raises(CommandFailed, match="code 1"):
        await asyncio.to_thread(run, rest, "r", "false", check=True)
    several = await asyncio.to_thread(run, rest, "r", "echo a\necho b\n(exit 4)")
    assert (several.exit_code, several.output) == (4, "a\nb\n")


async def test_run_says_when_output_outgrew_retention(rest: SessionsClient) -> None:
    # 200000 lines, ~1.3 MB, through a 128 KiB retention window.
    result = await asyncio.to_thread(run, rest, "big", "seq 1 200000", timeout=60)
    assert result.exit_code == 0
    assert result.truncated
    expected = "".join(f"{n}\n" for n in range(1, 200001))
    assert 100_000 < len(result.output) < len(expected)
    tail = result.output[result.output.index("\n") + 1 :]  # the first line may be cut
    assert expected.endswith(tail)


async def test_run_timeout_leaves_the_command_running(rest: SessionsClient) -> None:
    with pytest.raises(CommandTimeout, match="still running") as caught:
        await asyncio.to_thread(run, rest, "t", "echo started; sleep 30", timeout=1)
    assert caught.value.result.output == "started\n"
    info = await asyncio.to_thread(rest.find, "t")
    assert info is not None
    assert info["running_command"] == "echo started; sleep 30"
    with pytest.raises(SessionBusy):
        await asyncio.to_thread(run, rest, "t", "true")
    await asyncio.to_thread(rest.send, "t", "\x03")
    # The interrupted command ends when its end mark has been read: wait for that (with a
    # deadline) before the next run(), which refuses to type while a command runs.
    deadline = asyncio.get_running_loop().time() + 10
    while (await asyncio.to_thread(rest.find, "t") or {}).get("running_command") is not None:
        assert asyncio.get_running_loop().time() < deadline, "the interrupted command never ended"
        await asyncio.sleep(0.05)
    result = await asyncio.to_thread(run, rest, "t", "echo after", timeout=10)
    assert (result.exit_code, result.output) == (0, "after\n")


async def test_audit_log_has_one_line_per_finished_command(
    rest: SessionsClient, tmp_path: Path, jp_serverapp: Any
) -> None:
    await asyncio.to_thread(run, rest, "audited", "true")
    await asyncio.to_thread(run, rest, "audited", "cd /tmp && (exit 2)")
    info = await asyncio.to_thread(rest.find, "audited")
    assert info is not None
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(x["command"], x["exit_code"]) for x in lines] == [
        ("true", 0),
        ("cd /tmp && (exit 2)", 2),
    ]
    for line in lines:
        assert line["session_id"] == info["session_id"]
        assert line["session_name"] == "audited"
        assert line["owner"]
        assert line["cwd"] == jp_serverapp.root_dir
        assert line["ended_at"] >= line["started_at"]
        assert line["duration"] >= 0


@pytest.mark.parametrize("shell", [["/bin/sh", "-i"]])
async def test_run_falls_back_to_a_sentinel_without_integration(rest: SessionsClient) -> None:
    log = await asyncio.to_thread(
        rest.commands, (await asyncio.to_thread(rest.ensure, "sh"))["session_id"]
    )
    assert log["shell_integration"] is False
    result = await asyncio.to_thread(run, rest, "sh", "printf 'one\\ntwo\\n'; (exit 5)", timeout=10)
    assert (result.exit_code, result.output, result.truncated) == (5, "one\ntwo\n", False)
    quoted = await asyncio.to_thread(run, rest, "sh", 'echo "it\'s"', timeout=10)
    assert (quoted.exit_code, quoted.output) == (0, "it's\n")


@pytest.mark.parametrize("shell", [[BASH, "--norc", "--noprofile", "-i"]])
async def test_a_shell_with_explicit_options_runs_untouched(
    connect: Any, rest: SessionsClient
) -> None:
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, "echo $PROMPT_COMMAND-done\n")
        text = await client.read_until(session_id, "-done\r\n")
        assert "\x1b]133;" not in text
        info = (await asyncio.to_thread(rest.list))[0]
        assert info["shell_integration"] is False


async def test_run_waits_for_an_answer_typed_in_a_viewer(
    connect: Any, rest: SessionsClient
) -> None:
    async with connect() as client:
        session_id = await client.create(name="ask")
        running = asyncio.create_task(
            asyncio.to_thread(run, rest, "ask", "read -p 'na''me? ' n; echo \"hi $n\"", timeout=20)
        )
        # "name? " is not in the echoed command line (quotes split it): read printed it.
        await client.read_until(session_id, "name? ")
        await client.send(session_id, "bob\r")
        result = await running
        assert (result.exit_code, result.output) == (0, "name? bob\nhi bob\n")


async def test_cell_magic_runs_each_line_and_sums_up(
    rest: SessionsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.core.interactiveshell import InteractiveShell  # noqa: PLC0415
    from IPython.utils.capture import capture_output  # noqa: PLC0415

    monkeypatch.setenv("WEBPTY_SERVER_URL", rest.server.url)
    monkeypatch.setenv("WEBPTY_TOKEN", rest.server.token)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_webpty")

    def call() -> tuple[Any, Any]:
        with capture_output() as captured:
            value = ip.run_cell_magic("webterm", "cells", "true\n# a comment\n\n(exit 4)\n")
        return value, captured

    value, captured = await asyncio.to_thread(call)
    assert value == 4
    assert "[  0] true" in captured.stdout
    assert "[  4] (exit 4)" in captured.stdout
    assert captured.outputs[0].data["application/vnd.jupyter.webpty.terminal+json"]["session"] == (
        "cells"
    )


@pytest.mark.parametrize("shell", [[BASH, "-l"]])
async def test_bash_login_reads_the_first_profile_only_and_keeps_set_e(
    connect: Any, rest: SessionsClient, home: Path
) -> None:
    (home / ".bash_profile").write_text("echo from-bash-profile\nset -e\nPS1='webpty$ '\n")
    (home / ".profile").write_text("echo from-profile\n")
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, "echo ok\n")
        (command,) = await commands_when(rest, session_id, 1)
        text = client.terminal(session_id).text
        assert "from-bash-profile" in text
        assert "from-profile" not in text
        assert "[pc:" not in text  # a login shell does not read ~/.bashrc
        assert (command["command"], command["exit_code"]) == ("echo ok", 0)
        assert await output_of(rest, session_id, command) == "ok\n"


async def test_output_range_raw_flag_and_bad_requests(rest: SessionsClient) -> None:
    from jupyter_webpty.api import ApiError  # noqa: PLC0415

    result = await asyncio.to_thread(run, rest, "raw", "printf '\\033[31mred\\033[0m\\n'")
    assert result.output == "red\n"
    session_id = (await asyncio.to_thread(rest.ensure, "raw"))["session_id"]
    (command,) = (await asyncio.to_thread(rest.commands, session_id))["commands"]
    raw = await asyncio.to_thread(
        rest.output, session_id, command["start"], command["end"], raw=True
    )
    assert raw["text"] == "\x1b[31mred\x1b[0m\n"
    with pytest.raises(ApiError) as bad:
        await asyncio.to_thread(rest._request, "GET", f"/{session_id}/output?start=x")
    assert bad.value.status == 400
    # The log's route is read-only: DELETE must not close the session as the session's does.
    with pytest.raises(ApiError) as refused:
        await asyncio.to_thread(rest._request, "DELETE", f"/{session_id}/commands")
    assert refused.value.status == 405
    assert await asyncio.to_thread(rest.find, "raw") is not None

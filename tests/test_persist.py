"""Shells that outlive the server (``persist_sessions``): a real server stopped with SIGTERM or
killed with SIGKILL and started again on the same runtime directory adopts the PTY host's shells
with their jobs, variables, screen and offsets; a killed host means revival; persistence off
means nothing survives.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_webpty.core.hostclient import HostClient, find_hosts, stop_host

from .conftest import PROMPT, Client, wait_until
from .test_revive import RESTORED, listed, real_server, stop

pytestmark = pytest.mark.timeout(180)


def hosts(runtime: Path) -> list[int]:
    """Pids of the live PTY hosts whose files are in ``runtime``."""
    return [info.pid for info in find_hosts(str(runtime)) if psutil.pid_exists(info.pid)]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    """The runtime dir the servers share; every host started in it is stopped at the end."""
    yield tmp_path
    for info in find_hosts(str(tmp_path)):
        stop_host(info.directory)


async def start_job(client: Client, session: str) -> int:
    """Start ``sleep 1000 &`` in the session; its pid (the echoed command line shows EN""D)."""
    await client.send(session, 'sleep 1000 & echo JOB$!EN""D\n')
    text = await client.read_until(session, "END\r\n")
    found = re.search(r"JOB(\d+)END", text)
    assert found, text
    return int(found.group(1))


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize(
    "how",
    [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
    # SIGINT without a tty: the extension routes it to the server's stop (shutdown.stop_on_signals).
    ids=["stopped", "interrupted", "killed"],
)
async def test_shells_jobs_and_screens_survive_a_server_restart(
    runtime: Path, how: signal.Signals
) -> None:
    (runtime / "notes.txt").write_text("first line of the file\n")
    async with real_server(runtime, persist_sessions=True) as (real, _):
        client = await real.client()
        shell = await client.create(cols=90, rows=24, name="work")
        editor = await client.create(cols=80, rows=24, name="editor")
        await client.send(shell, "export KEPT=value-$((6*7))\n")
        job = await start_job(client, shell)
        await client.send(editor, "vim -u NONE -i NONE notes.txt\n")
        await client.read_until(editor, "first line of the file")
        await client.send(editor, "oadded in vim\x1b")
        await client.read_until(editor, "added in vim")
        offset = client.terminal(shell).offset
        [host_pid] = hosts(runtime)

        await stop(real, how)
        # The shells, the job and vim are still there, children of the host.
        assert alive(job), "the background job ended with the server"
        assert alive(host_pid)
        assert any(p.name() == "vim" for p in psutil.Process(host_pid).children(recursive=True))
        await real.start()

        again = await real.client()
        sessions = {s["name"]: s for s in await listed(again)}
        assert set(sessions) == {"work", "editor"}
        assert sessions["work"]["session_id"] == shell
        assert sessions["editor"]["session_id"] == editor
        assert (sessions["work"]["cols"], sessions["work"]["rows"]) == (90, 24)
        # A tab open through a clean restart resumes from its offset, losing nothing.
        tab = await real.client()
        reply = await tab.reconnect(session_id=shell, offset=offset)
        assert reply["success"], reply
        assert reply["truncated"] == (how == signal.SIGKILL), reply
        if how != signal.SIGKILL:
            assert reply["offset"] == offset, reply
        await tab.send(shell, "echo kept=$KEPT; jobs -l\n")
        text = await tab.read_until(shell, f"{job}")
        assert "kept=value-42" in text
        assert RESTORED not in text
        # vim's screen comes back for a new viewer, and vim still takes keys. (After a crash,
        # what the dead server read in its last moments may be missing from the store; the
        # adopted session asks the programs to repaint, as tmux does on attach.)
        viewer = await real.client()
        reply = await viewer.reconnect(session_id=editor)
        assert reply["success"], reply
        await viewer.read_until(editor, "added in vim")
        await viewer.send(editor, ":wq\r")
        notes = runtime / "notes.txt"
        await wait_until(lambda: "vim" in notes.read_text(), what="vim wrote the file")
        assert notes.read_text() == "first line of the file\nadded in vim\n"
        # Closing a kept session ends the shell and its job for good.
        assert (await again.call("terminal:close", {"session_id": shell}))["success"]
        await wait_until(lambda: not alive(job), what="the job ended on close")


async def test_output_printed_while_no_server_runs_is_kept(runtime: Path) -> None:
    """A job printing while the server is down does not block, and nothing is lost."""
    async with real_server(runtime, persist_sessions=True) as (real, _):
        client = await real.client()
        shell = await client.create(name="printer")
        await client.send(shell, 'sleep 1; seq 1 20000; echo seq-do""ne\n')
        await client.read_until(shell, 'seq-do""ne\r\n')  # the shell has the command line
        offset = client.terminal(shell).offset
        await stop(real, signal.SIGTERM)
        # 20000 lines are ~110 KB, far more than a PTY holds (~17 KB): the host reads them.
        await real.start()
        tab = await real.client()
        reply = await tab.reconnect(session_id=shell, offset=offset)
        assert reply["success"], reply
        assert not reply["truncated"], reply
        text = await tab.read_until(shell, "seq-done\r\n")
        # A line as the terminal shows it: after its last CR. bash turns bracketed paste off
        # ("\x1b[?2004l\r") just before it runs the command; when that came after the
        # offset read above, it leads the first number's line.
        lines = (line.rsplit("\r", 1)[-1] for line in text.split("\r\n"))
        numbers = [line for line in lines if line.isdigit()]
        assert numbers == [str(n) for n in range(1, 20001)]


async def test_a_killed_host_means_revival(runtime: Path) -> None:
    (runtime / "sub").mkdir()
    async with real_server(runtime, persist_sessions=True) as (real, _):
        client = await real.client()
        shell = await client.create(name="fragile", cwd="sub")
        await client.send(shell, "echo before-$((6*7))\n")
        await client.read_until(shell, "before-42\r\n")
        [host_pid] = hosts(runtime)
        await stop(real, signal.SIGTERM)
        os.kill(host_pid, signal.SIGKILL)
        await wait_until(lambda: not alive(host_pid), what="the host gone")
        await real.start()
        again = await real.client()
        [session] = await listed(again)
        assert (session["session_id"], session["name"]) == (shell, "fragile")
        assert session["cwd"] == str(runtime / "sub")
        await again.reconnect(session_id=shell)
        text = await again.read_until(shell, RESTORED)
        assert "before-42" in text
        await again.read_until(shell, PROMPT)


async def test_with_persistence_off_nothing_survives(runtime: Path) -> None:
    async with real_server(runtime, revive_sessions=False) as (real, _):
        client = await real.client()
        shell = await client.create()
        job = await start_job(client, shell)
        await stop(real, signal.SIGTERM)
        assert not alive(job)
        assert hosts(runtime) == []


async def test_list_and_stop_hosts_from_the_command_line(runtime: Path) -> None:
    async with real_server(runtime, persist_sessions=True) as (real, _):
        client = await real.client()
        shell = await client.create(name="listed")
        job = await start_job(client, shell)
        await stop(real, signal.SIGTERM)
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
        cli = [sys.executable, "-m", "jupyter_webpty.cli"]
        listing = subprocess.run([*cli, "list-hosts"], env=env, capture_output=True, text=True,
                                 check=True, timeout=30).stdout  # fmt: skip
        assert str(runtime) in listing
        assert "listed" in listing
        [host_pid] = hosts(runtime)
        subprocess.run([*cli, "stop-host", "--all"], env=env, check=True, timeout=60)
        await wait_until(lambda: not alive(host_pid) and not alive(job), what="all ended")
        assert find_hosts(str(runtime)) == []


def test_another_unix_user_can_neither_connect_nor_read_the_secret(runtime: Path) -> None:
    if os.getuid() != 0:
        pytest.fail("this test creates a second Unix user and needs root (CI runs as root)")
    user = "webpty-other"
    if subprocess.run(["id", user], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", user], check=True)
    # A folder the other user may pass through (pytest's own are 0700), the host's inside.
    base = Path(tempfile.mkdtemp(prefix="webpty-host-test-"))
    base.chmod(0o711)
    (base / "root").mkdir()
    directory = base / "host"
    client = HostClient.start(directory, str(base / "root"), idle_timeout=60)
    probe = (
        "import socket\n"
        f"d = {str(directory)!r}\n"
        "try:\n"
        "    open(d + '/host.json').read(); print('read')\n"
        "except PermissionError: print('no-read')\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
        "try:\n"
        "    s.connect(d + '/host.sock')\n"
        '    s.send(b\'{"op":"hello","secret":"guess"}\\0\')\n'
        "    print('answered' if s.recv(100) else 'hung-up')\n"
        "except PermissionError: print('no-connect')\n"
        "except ConnectionError: print('hung-up')\n"
    )

    def as_other_user() -> list[str]:
        done = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", probe],
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
        return done.stdout.split() or [done.stderr]

    try:
        assert as_other_user() == ["no-read", "no-connect"]
        # Modes loosened by hand: the host still checks who connects (SO_PEERCRED).
        directory.chmod(0o711)
        (directory / "host.sock").chmod(0o666)
        assert as_other_user() == ["no-read", "hung-up"]
        assert client.call({"op": "list"})["ok"]  # and still serves its own user
    finally:
        client.close()
        stop_host(directory)
        shutil.rmtree(base)


async def test_the_host_ends_its_shells_after_the_idle_timeout(runtime: Path) -> None:
    async with real_server(runtime, persist_sessions=True, host_idle_timeout=1.0) as (real, _):
        client = await real.client()
        shell = await client.create()
        job = await start_job(client, shell)
        [host_pid] = hosts(runtime)
        await stop(real, signal.SIGTERM)
        assert alive(job)  # kept while no server runs, for host_idle_timeout seconds
        await wait_until(lambda: not alive(host_pid) and not alive(job), 30, what="timed out")
        assert find_hosts(str(runtime)) == []


async def test_the_command_log_goes_on_through_a_restart(runtime: Path) -> None:
    """Shell integration: an adopted shell keeps its command log, and a command running
    through the restart finishes in it, audited once."""
    home = runtime / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='webpty$ '\n")
    audit = runtime / "audit.jsonl"
    async with real_server(
        runtime, persist_sessions=True, shell_command=[shutil.which("bash") or "/bin/bash", "-i"],
        extra_env={"PS1": PROMPT, "HISTFILE": "/dev/null", "HOME": str(home)},
        audit_log=str(audit),
    ) as (real, _):  # fmt: skip
        client = await real.client()
        shell = await client.create(name="marked")
        await client.send(shell, "(exit 3)\n")
        await wait_until(
            lambda: audit.exists() and '"exit_code": 3' in audit.read_text(), what="audited"
        )
        await client.send(shell, "sleep 8\n")

        async def running() -> Any:
            [session] = await listed(client)
            return session["running_command"]

        await wait_until_async(running, what="sleep running")
        await stop(real, signal.SIGTERM)
        await real.start()
        again = await real.client()
        [session] = await listed(again)
        assert session["last_exit_code"] == 3, session
        assert session["running_command"] == "sleep 8", session

        async def finished() -> Any:
            [session] = await listed(again)
            return session["running_command"] is None and session["last_exit_code"] == 0

        await wait_until_async(finished, what="sleep finished in the adopted shell")
        lines = [json.loads(line) for line in audit.read_text().splitlines()]
        assert [(line["command"], line["exit_code"]) for line in lines] == [
            ("(exit 3)", 3),
            ("sleep 8", 0),
        ]


async def wait_until_async(check: Any, timeout: float = 20.0, *, what: str) -> None:
    """Wait until the coroutine function ``check`` returns something true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            msg = f"{what}: not within {timeout} s"
            raise TimeoutError(msg)
        await asyncio.sleep(0.05)


async def test_a_host_killed_under_a_running_server_is_replaced(runtime: Path) -> None:
    async with real_server(runtime, persist_sessions=True) as (real, _):
        client = await real.client()
        old = await client.create(name="old")
        [first_host] = hosts(runtime)
        os.kill(first_host, signal.SIGKILL)
        await wait_until(lambda: not alive(first_host), what="the host gone")
        # The old shell runs on the server's copy of its terminal.
        await client.send(old, "echo still-$((6*7))\n")
        await client.read_until(old, "still-42")
        # A new shell gets a new host (no error for the user).
        new = await client.create(name="new")
        job = await start_job(client, new)
        [second_host] = hosts(runtime)
        assert second_host != first_host
        await stop(real, signal.SIGTERM)
        assert alive(job)  # the new host's shell survives the restart...
        await real.start()
        again = await real.client()
        sessions = {s["name"]: s for s in await listed(again)}
        assert set(sessions) == {"old", "new"}
        # ...and the old one, whose host died, comes back revived.
        await again.reconnect(session_id=old)
        await again.read_until(old, RESTORED)
        await again.reconnect(session_id=new)
        await again.send(new, "jobs\n")
        await again.read_until(new, "sleep 1000")

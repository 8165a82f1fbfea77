"""Process lifecycle: nothing outlives a session unless it left the terminal on purpose.

pytest-jupyter runs the server in this very process, so its children, zombies and open file
descriptors are ours to count. Every process a test starts carries a unique marker argument
(``sleep 1001.<nonce>``) found through ``processes_with``; leftovers are killed by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from .conftest import PROMPT, SHELL_ARGV, Client, wait_until
from .processes import children_of, open_fds, processes_with, state_of, zombies_of


@pytest.fixture
def markers() -> Iterator[Any]:
    """``markers(n)``: a unique ``sleep`` argument such as ``1001.48213``; killed afterwards."""
    nonce = secrets.randbelow(10**8)
    made: list[str] = []

    def make(number: int) -> str:
        made.append(f"{number}.{nonce:08d}")
        return made[-1]

    yield make
    for marker in made:
        for pid in processes_with(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def alive(marker: str) -> bool:
    """Whether a (non-zombie) process with ``marker`` in its command line exists."""
    return bool(processes_with(marker))


def leads_a_session(pid: int) -> bool:
    """Whether ``pid`` is alive and leads its own session (it called setsid())."""
    try:
        return os.getsid(pid) == pid
    except ProcessLookupError:
        return False


def manager_of(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["webpty_manager"]


# Without revival: its writer thread opens each log for a moment, which the exact fd count
# below would catch at random (tests/test_revive.py covers those files).
@pytest.mark.parametrize("webpty_config", [{"revive_sessions": False}])
async def test_create_close_cycles_leave_nothing_behind(connect: Any, jp_serverapp: Any) -> None:
    me = os.getpid()
    async with connect() as client:
        await client.call("terminal:close", {"session_id": await client.create()})  # warm up
        await wait_until(lambda: not zombies_of(me), what="warm-up reaped")
        children, fds = set(children_of(me)), open_fds()
        for cycle in range(200):
            reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
            assert reply["success"], reply
            if cycle % 2:  # half of them close at once, half after the shell is up
                await client.read_until(reply["session_id"], PROMPT)
            closed = await client.call("terminal:close", {"session_id": reply["session_id"]})
            assert closed == {"success": True}, cycle
        assert len(manager_of(jp_serverapp)) == 0
        assert set(children_of(me)) == children
        assert zombies_of(me) == []
        # Exact: every PTY master and pidfd is closed before the close reply is sent.
        assert open_fds() == fds


async def start_jobs(
    client: Client, session_id: str, commands: list[str], marks: list[str]
) -> None:
    """Type each command and wait until every marker process runs."""
    for command in commands:
        await client.send(session_id, command + "\n")
    for marker in marks:
        await wait_until(lambda m=marker: alive(m), what=marker)


async def test_close_ends_every_job_but_setsid_escapees(connect: Any, markers: Any) -> None:
    plain, nohup, no_hup, no_term, stopped, escapee = (markers(n) for n in range(1001, 1007))
    async with connect() as client:
        session_id = await client.create()
        await start_jobs(
            client,
            session_id,
            [
                f"sleep {plain} &",
                f"nohup sleep {nohup} >/dev/null 2>&1 &",
                f"(trap '' HUP; sleep {no_hup}) &",
                f"(trap '' HUP TERM; sleep {no_term}) &",  # only SIGKILL ends it
                f"setsid sleep {escapee} &",
                f"sleep {stopped}",
            ],
            [plain, nohup, no_hup, no_term, escapee, stopped],
        )
        # setsid(1) forks when it leads a process group (a background job does) and the parent's
        # command line carries the marker too: wait for the child to have left the terminal's
        # session, or the close may catch it before its setsid() (seen under load).
        await wait_until(lambda: any(map(leads_a_session, processes_with(escapee))), what="setsid")
        [sleeper] = processes_with(stopped)
        await client.send(session_id, "\x1a")  # Ctrl+Z
        await wait_until(lambda: state_of(sleeper) == psutil.STATUS_STOPPED, what="stopped job")
        assert await client.call("terminal:close", {"session_id": session_id}) == {"success": True}
        # No wait: the close reply comes after the signal ladder saw the session empty.
        assert [m for m in (plain, nohup, no_hup, no_term, stopped) if alive(m)] == []
        assert alive(escapee)  # documented: setsid leaves the terminal's session for good


@pytest.mark.parametrize(
    ("webpty_config", "kept"),
    [({}, False), ({"kill_on_exit": False}, True)],
    ids=["kill_on_exit", "kept"],
)
async def test_shell_exit_ends_its_jobs_unless_kill_on_exit_is_off(
    connect: Any, markers: Any, kept: bool
) -> None:
    plain, nohup = markers(1011), markers(1012)
    async with connect() as client:
        session_id = await client.create()
        commands = [f"sleep {plain} &", f"nohup sleep {nohup} >/dev/null 2>&1 &"]
        await start_jobs(client, session_id, commands, [plain, nohup])
        await client.send(session_id, "exit\n")
        assert await client.wait_exit(session_id) == 0
        if kept:  # (ended, they are gone by the exit event; kept, give the hangup its time)
            await client.call("terminal:list", {})  # the PTY is closed by now: jobs got it
        assert [alive(plain), alive(nohup)] == [kept, kept]


async def test_master_fds_are_not_inherited(connect: Any) -> None:
    async with connect() as client:
        first = await client.create()
        second = await client.create()
        await client.send(second, "echo FD-''BEGIN; tty; readlink /proc/$$/fd/*; echo FD-''END\n")
        text = await client.read_until(second, "FD-END\r\n")
        tty, *lines = text[text.index("FD-BEGIN\r\n") + 10 : text.index("FD-END")].split()
        targets = set(lines)
        assert tty.startswith("/dev/pts/")
        # Only the shell's own terminal: no /dev/ptmx (a master), socket, pipe or pidfd.
        assert targets == {tty}, targets
        await client.send(first, "echo first-alive\n")
        await client.read_until(first, "first-alive")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(url: str, token: str, server: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:

        async def ready() -> bool:
            assert server.poll() is None, "jupyter server exited early"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}api/status?token={token}") as reply:
                    return reply.status == 200
            return False

        deadline = asyncio.get_running_loop().time() + 60
        while not await ready():
            assert asyncio.get_running_loop().time() < deadline, "server not ready"
            await asyncio.sleep(0.1)


#: Runs argv with SIGHUP at its default: the server is not under nohup unless a test asks, even
#: when the tests themselves run under one (it would inherit SIGHUP ignored, and keep it so).
_SIGHUP_DEFAULT = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",
]


class RealServer:
    """``jupyter server`` in its own process, with jupyter-webpty and a test shell."""

    def __init__(self, tmp_path: Path, **webpty: Any) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = tmp_path / "server.log"
        # Read from JUPYTER_CONFIG_DIR; the extension is also enabled explicitly.
        settings = {"ServerApp": {"jpserver_extensions": {"jupyter_webpty": True}},
                    "WebPtyApp": {"shell_command": SHELL_ARGV, "extra_env": {"PS1": PROMPT},
                                  **webpty}}  # fmt: skip
        (tmp_path / "jupyter_server_config.json").write_text(json.dumps(settings))
        self.env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path),
                    "JUPYTER_RUNTIME_DIR": str(tmp_path)}  # fmt: skip
        self.argv = [sys.executable, "-m", "jupyter", "server", "--allow-root", "--no-browser",
                     "--ip", "127.0.0.1", "--port", str(self.port),
                     f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={tmp_path}"]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.clients: list[Client] = []

    async def start(self, *, ignore_sighup: bool = False) -> subprocess.Popen[bytes]:
        """Start it (as under ``nohup`` if ``ignore_sighup``) and wait until it answers."""

        argv = ["nohup", *self.argv] if ignore_sighup else [*_SIGHUP_DEFAULT, *self.argv]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        await wait_ready(self.url, self.token, self.process)
        return self.process

    async def client(self) -> Client:
        """A connected Socket.IO client, closed by ``close_clients``."""
        headers = {"Authorization": f"token {self.token}"}
        self.clients.append(await Client(self.url, "/webpty/socket.io", headers).connect())
        return self.clients[-1]

    async def close_clients(self) -> None:
        for client in self.clients:
            http = client.sio.eio.http
            await client.close()
            if http is not None:
                await http.close()  # python-engineio forgets, unclosed, its session on a hang-up

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: signal.Signals(s).name
)
async def test_stopping_a_real_server_ends_every_session(
    tmp_path: Path, markers: Any, stop: signal.Signals
) -> None:
    # SIGINT without a tty is how JupyterHub's local spawners stop a server: jupyter-server
    # has no handler for it then; the extension routes it to the server's stop.
    # SIGHUP is what a server gets when the terminal it runs in goes away: the default action
    # killed it on the spot, and nohup-ed jobs outlived it.
    jobs = [markers(n) for n in range(1021, 1025)]
    real = RealServer(tmp_path)
    server = await real.start()
    try:
        a, b = await real.client(), await real.client()
        first, second = await a.create(), await b.create()
        nohup = f"nohup sleep {jobs[1]} >/dev/null 2>&1 &"
        await start_jobs(a, first, [f"sleep {jobs[0]} &", nohup], jobs[:2])
        no_hup = f"(trap '' HUP; sleep {jobs[2]}) &"
        await start_jobs(b, second, [no_hup, f"sleep {jobs[3]}"], jobs[2:])  # one in foreground
        server.send_signal(stop)
        await wait_until(lambda: server.poll() is not None, 30, "server exit")
        await real.close_clients()
        assert server.returncode == 0, real.log_tail()
        # The server's own stop ran, not a KeyboardInterrupt ("Interrupted..."; exit code 0 too).
        assert f"received signal {int(stop)}, stopping" in real.log_path.read_text(), (
            real.log_tail()
        )
        assert [m for m in jobs if alive(m)] == [], real.log_tail()
    finally:
        real.kill()


async def test_sigint_without_tty_closes_sessions_concurrently(
    tmp_path: Path, markers: Any
) -> None:
    grace = 1.0
    jobs = [markers(1030 + n) for n in range(6)]
    real = RealServer(tmp_path, kill_grace=grace)
    server = await real.start()
    try:
        client = await real.client()
        for job in jobs:  # a shell and a job that only SIGKILL ends: the whole ladder each
            session_id = await client.create()
            await start_jobs(
                client, session_id, [f"trap '' HUP TERM; (trap '' HUP TERM; sleep {job}) &"], [job]
            )
        loop = asyncio.get_running_loop()
        before = loop.time()
        server.send_signal(signal.SIGINT)
        await wait_until(lambda: server.poll() is not None, 60, "server exit")
        took = loop.time() - before
        await real.close_clients()
        # The server's own stop ran, not a KeyboardInterrupt ("Interrupted..."; exit code 0 too).
        assert "received signal 2, stopping" in real.log_path.read_text(), real.log_tail()
        assert [m for m in jobs if alive(m)] == [], real.log_tail()
        # One session after the other took 2 graces each (12 s); together, 2 graces in all.
        assert took < 6 * grace, f"{took:.1f} s to stop; {real.log_tail()}"
    finally:
        real.kill()


async def test_a_server_started_under_nohup_keeps_ignoring_sighup(
    tmp_path: Path, markers: Any
) -> None:
    job = markers(1040)
    real = RealServer(tmp_path)
    server = await real.start(ignore_sighup=True)
    try:
        client = await real.client()
        session_id = await client.create()
        await start_jobs(client, session_id, [f"sleep {job} &"], [job])
        server.send_signal(signal.SIGHUP)
        await client.send(session_id, "echo still-$((6*7))\n")  # answered after the signal
        await client.read_until(session_id, "still-42")
        assert server.poll() is None
        assert alive(job)
        server.send_signal(signal.SIGTERM)
        await wait_until(lambda: server.poll() is not None, 30, "server exit")
        await real.close_clients()
        assert not alive(job), real.log_tail()
    finally:
        real.kill()

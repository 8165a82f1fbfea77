"""The server under test: a real jupyter-server in its own process, and /proc readings of it."""

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
import time
from pathlib import Path

import aiohttp

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (bytes), from /proc."""
    fields = Path(f"/proc/{pid}/statm").read_text().split()
    return int(fields[1]) * _PAGE


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by ``pid`` (seconds)."""
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    fields = raw[raw.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def descendants(pid: int) -> list[int]:
    """All living descendants of ``pid`` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                raw = (entry / "stat").read_bytes()
                parents[int(entry.name)] = int(raw[raw.rfind(b")") + 2 :].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServer:
    """``jupyter server`` with jupyter-webpty and jupyter-server-terminals, on loopback."""

    def __init__(
        self,
        workdir: Path,
        shell: list[str],
        env: dict[str, str],
        label: str,
        options: list[str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.options = list(options or [])
        self.shell = shell
        self.env = env
        self.label = label
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = "/"
        self.process: subprocess.Popen[bytes] | None = None
        self._family: set[int] = set()

    @property
    def url(self) -> str:
        """The server's root URL (with ``base_url``)."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def headers(self) -> dict[str, str]:
        """Token authentication for requests and websockets."""
        return {"Authorization": f"token {self.token}"}

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    def launcher(self) -> list[str]:
        """The command that starts ``jupyter server`` (experiments may wrap it)."""
        return [sys.executable, "-m", "jupyter", "server"]

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until its API answers."""
        config_dir = self.workdir / f"config-{self.label}"
        config_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_webpty": True, "jupyter_server_terminals": True},
                "terminado_settings": {"shell_command": self.shell},
            },
            "WebPtyApp": {"shell_command": self.shell, "max_sessions_per_user": 0},
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        root = self.workdir / "root"
        root.mkdir(exist_ok=True)
        env = dict(self.env)
        env["JUPYTER_CONFIG_DIR"] = str(config_dir)
        env["JUPYTER_RUNTIME_DIR"] = str(self.workdir / f"runtime-{self.label}")
        argv = [
            *self.launcher(), "--allow-root", "--no-browser",
            "--ip", "127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
            f"--ServerApp.base_url={self.base_url}", *self.options,
        ]  # fmt: skip
        log = (self.workdir / f"server-{self.label}.log").open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=self.workdir,  # not the caller's: `-m` would import from there first
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(headers=self.headers) as http:
            while True:
                if self.process.poll() is not None:
                    msg = f"{self.label} server exited; see {self.workdir}/server-{self.label}.log"
                    raise RuntimeError(msg)
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}api/status") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    msg = f"{self.label} server did not answer within {timeout} s"
                    raise TimeoutError(msg)
                await asyncio.sleep(0.1)

    def remember_family(self) -> None:
        """Note the server's current descendants, so that stop() can check each one by pid."""
        if self.process is not None:
            self._family.update(descendants(self.process.pid))

    async def stop(self, grace: float = 30.0) -> list[int]:
        """SIGTERM, wait, SIGKILL; then kill leftover descendants by pid. Returns those."""
        if self.process is None:
            return []
        self.remember_family()
        return await stop_process(self.process, self._family, grace)


async def stop_process(
    process: subprocess.Popen[bytes], family: set[int], grace: float
) -> list[int]:
    """SIGTERM ``process``, SIGKILL it after ``grace`` seconds; then give each pid of ``family``
    (its descendants, noted while it ran) 5 s to go, and SIGKILL those left. Returns those."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
    leftovers = []
    deadline = time.monotonic() + 5
    for pid in sorted(family):
        while _alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if _alive(pid):
            leftovers.append(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return leftovers


def _alive(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return raw[raw.rfind(b")") + 2 :].split()[0] != b"Z"

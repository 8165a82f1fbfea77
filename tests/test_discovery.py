"""How a kernel finds its server (issue 11, item 7): stale runtime files never get a token.

``jpserver-*.json`` files outlive crashed servers. The kernel-side client used to pick the only
file it found and send that file's token to whatever now listened on the file's port. These
tests write runtime files in a private runtime directory: for a dead server, for a live process
that is not the server, and for the real server under test (which runs in this process).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from jupyter_webpty.api import Server, ServerNotFound, SessionsClient

#: pytest-jupyter runs the server under test in this process: this pid listens on its port.
SERVER_PID = os.getpid()
TOKEN = "stale-token-that-must-stay-home"  # noqa: S105 - a test value


class Thief(BaseHTTPRequestHandler):
    """Whatever listens on a dead server's port: records the credentials it is offered."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Thief.seen.append(self.headers.get("Authorization", "") + self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def thief() -> Iterator[int]:
    Thief.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Thief)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "runtime"
    directory.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(directory))
    for name in ("WEBPTY_SERVER_URL", "WEBPTY_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return directory


def write_info(runtime: Path, pid: int, port: int, token: str, base_url: str = "/") -> None:
    info = {
        "pid": pid,
        "port": port,
        "url": f"http://127.0.0.1:{port}{base_url}",
        "base_url": base_url,
        "token": token,
        "secure": False,
        "root_dir": "/",
    }
    (runtime / f"jpserver-{pid}.json").write_text(json.dumps(info))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def discover_and_list() -> None:
    SessionsClient(Server.discover(), timeout=5).list()


def test_a_dead_servers_file_is_ignored(runtime: Path, thief: int) -> None:
    write_info(runtime, dead_pid(), thief, TOKEN)
    with pytest.raises(ServerNotFound):
        discover_and_list()
    assert Thief.seen == []


def test_a_live_process_that_does_not_listen_there_gets_no_token(runtime: Path, thief: int) -> None:
    # A reused pid: alive, but not the process on the port.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            write_info(runtime, other.pid, thief, TOKEN)
            with pytest.raises(ServerNotFound, match="listen"):
                discover_and_list()
        finally:
            other.kill()
    assert Thief.seen == []


async def test_the_live_server_is_found_and_used(
    runtime: Path, thief: int, http_server_client: Any, jp_http_port: int, jp_base_url: str,
    jp_serverapp: Any,
) -> None:  # fmt: skip
    # The server under test runs in this process: this pid listens on jp_http_port. A stale
    # file beside it (dead pid, the thief's port) must not confuse the choice.
    token = jp_serverapp.identity_provider.token
    write_info(runtime, dead_pid(), thief, TOKEN)
    write_info(runtime, SERVER_PID, jp_http_port, token, jp_base_url)
    server = await asyncio.to_thread(Server.discover)
    assert server.url.endswith(f":{jp_http_port}{jp_base_url}")
    assert server.token == token
    assert await asyncio.to_thread(SessionsClient(server, timeout=5).list) == []
    assert Thief.seen == []


async def test_a_kernel_prefers_the_server_that_started_it(
    runtime: Path, thief: int, http_server_client: Any, jp_http_port: int, jp_base_url: str,
    jp_serverapp: Any,
) -> None:  # fmt: skip
    # Two live servers: a kernel (a child of this process, which serves jp_http_port) takes its
    # parent's file, never the other one.
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            write_info(runtime, other.pid, thief, TOKEN)
            write_info(runtime, SERVER_PID, jp_http_port, "parent-token", jp_base_url)
            code = "from jupyter_webpty.api import Server; print(Server.discover().url)"
            found = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(found.communicate(), 60)
        finally:
            other.kill()
    assert out.decode().strip().endswith(f":{jp_http_port}{jp_base_url}")

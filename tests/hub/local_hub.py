"""Start a real JupyterHub on 127.0.0.1, drive it through its REST API, stop it, find leftovers.

Blocking on purpose (stdlib ``urllib`` and ``subprocess``): the hub lives in other processes, and
a module-scoped fixture cannot use pytest-jupyter's per-test event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ..processes import descendants, still_running

HERE = Path(__file__).parent
CONFIG = HERE / "jupyterhub_config.py"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"

T = TypeVar("T")


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the hub test, as human-readable reasons."""
    missing = []
    try:
        import jupyterhub  # noqa: F401, PLC0415
    except ImportError:
        missing.append("the jupyterhub package (pip install jupyterhub)")
    if not (Path(sys.executable).parent / "jupyterhub-singleuser").exists():
        missing.append(f"jupyterhub-singleuser beside {sys.executable}")
    if not PROXY.exists():
        missing.append(f"{PROXY} (npm ci --prefix tests/hub)")
    return missing


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free on 127.0.0.1 right now."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``check`` until it returns something other than None, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(interval)


class LocalHub:
    """JupyterHub + configurable-http-proxy on loopback, in a fresh ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.service_token = secrets.token_hex(16)
        self.public_port, self.hub_port, self.proxy_api_port = free_ports(3)
        self.public_url = f"http://127.0.0.1:{self.public_port}"
        self.log_path = run_dir / "jupyterhub.log"
        self.process: subprocess.Popen[bytes] | None = None
        #: Descendants seen at the last ``snapshot()``: pid -> start time.
        self.tree: dict[int, float] = {}

    # -- lifetime ------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> None:
        """Start the hub (which starts the proxy) and wait until its API answers."""
        env = {
            **os.environ,
            "WEBPTY_HUB_RUN_DIR": str(self.run_dir),
            "WEBPTY_HUB_BIN_DIR": str(Path(sys.executable).parent),
            "WEBPTY_HUB_PUBLIC_PORT": str(self.public_port),
            "WEBPTY_HUB_PORT": str(self.hub_port),
            "WEBPTY_HUB_PROXY_API_PORT": str(self.proxy_api_port),
            "WEBPTY_HUB_PROXY_COMMAND": str(PROXY),
            "WEBPTY_HUB_SERVICE_TOKEN": self.service_token,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG), "--debug"],
                cwd=self.run_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool | None:
            self._check_running()
            # Through the proxy: then both the hub and the proxy are up.
            with contextlib.suppress(OSError):
                status, _ = self.api("GET", "/hub/api/")
                return True if status == 200 else None
            return None

        poll(ready, timeout, "the hub's API through the proxy")

    def snapshot(self) -> dict[int, int]:
        """Record the hub's live descendants (proxy, user servers, their shells)."""
        assert self.process is not None
        self.tree = descendants(self.process.pid)
        return self.tree

    def stop(self, timeout: float = 30) -> list[int]:
        """SIGTERM the hub and wait for it; return the recorded descendants still running.

        The hub stops the user servers and the proxy itself on SIGTERM (``cleanup_servers``,
        ``cleanup_proxy``); every child runs in its own session, so nothing else reaches them.
        """
        if self.process is None or self.process.poll() is not None:
            return still_running(self.tree)
        self.snapshot()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        # A server's own children (the shells) may take a moment longer than the server.
        with contextlib.suppress(TimeoutError):
            poll(lambda: True if not still_running(self.tree) else None, 5, "descendants to exit")
        return still_running(self.tree)

    def kill(self) -> None:
        """Last resort after a failed test: SIGKILL the hub and the descendants recorded."""
        if self.process is not None and self.process.poll() is None:
            self.tree.update(descendants(self.process.pid))
            self.process.kill()
            self.process.wait(10)
        for pid in still_running(self.tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the hub's log (the proxy and user servers log there too)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            msg = f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}"
            raise RuntimeError(msg)

    # -- REST ----------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        timeout: float = 30,
    ) -> tuple[int, bytes]:
        """``method`` on the public URL + ``path``; (status, body), redirects not followed."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.public_url + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"token {token or self.service_token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def api(
        self, method: str, path: str, *, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """Like ``request``, decoding a JSON reply."""
        status, raw = self.request(method, path, token=token, body=body)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def create_user(self, name: str) -> None:
        """Create ``name`` (a fresh database knows no users)."""
        status, reply = self.api("POST", f"/hub/api/users/{name}")
        assert status == 201, (status, reply)

    def start_server(self, name: str, timeout: float = 30) -> None:
        """Spawn ``name``'s default server and wait until the hub calls it ready."""
        status, reply = self.api("POST", f"/hub/api/users/{name}/server")
        assert status in {201, 202}, (status, reply)

        def ready() -> bool | None:
            self._check_running()
            server = self.user(name)["servers"].get("", {})
            return True if server.get("ready") else None

        poll(ready, timeout, f"{name}'s server to be ready", interval=0.2)

    def share(self, owner: str, guest: str) -> None:
        """Share ``owner``'s default server with ``guest`` (JupyterHub's sharing API)."""
        status, reply = self.api("POST", f"/hub/api/shares/{owner}/", body={"user": guest})
        assert status in {200, 201}, (status, reply)

    def user(self, name: str) -> dict[str, Any]:
        """``GET /hub/api/users/{name}`` as the admin service."""
        status, reply = self.api("GET", f"/hub/api/users/{name}")
        assert status == 200, (status, reply)
        return dict(reply)

    def last_activity(self, name: str) -> datetime:
        """The hub's ``servers[""].last_activity`` of ``name``."""
        return datetime.fromisoformat(self.user(name)["servers"][""]["last_activity"])

    def token_for(self, name: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``name``, with ``scopes`` (default: all of the user's own)."""
        body: dict[str, Any] = {"note": "jupyter-webpty test", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        status, reply = self.api("POST", f"/hub/api/users/{name}/tokens", body=body)
        assert status == 201, (status, reply)
        return str(reply["token"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect (to the hub's login, say) is an answer to assert on, not to follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None

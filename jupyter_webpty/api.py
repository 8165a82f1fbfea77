"""A small client of the REST API for code running in a kernel (the widget and the magic).

The kernel may run anywhere; it only needs the server's URL and a credential. They are found,
in order, from ``WEBPTY_SERVER_URL`` (+ ``WEBPTY_TOKEN``), from the runtime file of the
jupyter-server that started this kernel (its pid is our parent's), or from the only running
server, provided its pid is the process listening on its port: a stale file's token is never
sent anywhere. Under JupyterHub the kernel's ``JUPYTERHUB_API_TOKEN`` authenticates as the hub user.
Standard library only: importing it in a kernel pulls in nothing heavy.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from . import protocol
from .core._spawn import signalable


class ServerNotFound(RuntimeError):
    """No jupyter-server could be found to talk to."""


class ApiError(RuntimeError):
    """The server refused a request; the message is the server's."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Server:
    """Where the server is: its base URL (ending in ``/``) and a token (may be empty)."""

    url: str
    token: str = ""

    @classmethod
    def discover(cls) -> Server:
        """Find the server this kernel belongs to."""
        url = os.environ.get("WEBPTY_SERVER_URL")
        token = os.environ.get("WEBPTY_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if url:
            return cls(url.rstrip("/") + "/", token)
        infos = [info for info in _runtime_infos() if _is_alive(info)]
        # The server that started this kernel is our parent: while we run, its pid cannot
        # name another process, so its file is the one it wrote.
        parent = [i for i in infos if i.get("pid") == os.getppid()]
        chosen = parent or (infos if len(infos) == 1 else [])
        if not chosen:
            msg = (
                "cannot tell which Jupyter server to use; set WEBPTY_SERVER_URL "
                "(and WEBPTY_TOKEN) in the kernel's environment"
            )
            raise ServerNotFound(msg)
        info = chosen[0]
        if not parent and not _serves(info):
            # A file left by a crashed server names a port another process may now listen on:
            # sending it the token would hand over the server.
            msg = (
                f"the Jupyter server in {info.get('_path', 'its runtime file')} cannot be shown "
                "to listen on its port; set WEBPTY_SERVER_URL (and WEBPTY_TOKEN)"
            )
            raise ServerNotFound(msg)
        return cls(str(info["url"]).rstrip("/") + "/", str(info.get("token") or token))


def _runtime_infos() -> list[dict[str, Any]]:
    """The contents of the ``jpserver-*.json`` files in Jupyter's runtime directory.

    jupyter-server's own ``list_running_servers`` does this too, but importing
    ``jupyter_server.serverapp`` in a kernel took 7 s here (jupyter_events' schema grammar):
    the same files and the same liveness check (``_is_alive``) without it.
    """
    try:
        from jupyter_core.paths import jupyter_runtime_dir  # noqa: PLC0415 - optional, light
    except ImportError:  # pragma: no cover - jupyter_core comes with ipykernel
        return []
    infos = []
    for path in Path(jupyter_runtime_dir()).glob("jpserver-*.json"):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(info, dict):
            infos.append({**info, "_path": str(path)})
    return infos


def _is_alive(info: dict[str, Any]) -> bool:
    """Whether the server that wrote ``info`` still runs (jupyter-server's own check)."""
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        from jupyter_server.utils import check_pid  # noqa: PLC0415 - 0.3 s, only when needed
    except ImportError:  # pragma: no cover - a kernel without jupyter-server beside it
        return signalable(pid)
    return bool(check_pid(pid))


def _serves(info: dict[str, Any]) -> bool:
    """Whether the process ``info["pid"]`` is the one listening on ``info["port"]`` (Linux).

    A pid alive today may be a different process than the server that wrote the file (pids
    are reused), and the port may belong to anyone: only the listening socket's owner proves
    that the file is current. False where that cannot be shown (no /proc, another user's
    process, a Unix socket).
    """
    pid, port = info.get("pid"), info.get("port")
    if not isinstance(pid, int) or not isinstance(port, int) or port <= 0:
        return False
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    try:
        links = [entry.path for entry in os.scandir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    for link in links:
        try:
            target = str(Path(link).readlink())
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` in this network namespace."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st ... inode: state 0A is LISTEN.
            if len(fields) > 9 and fields[3] == "0A" and fields[1].endswith(f":{port:04X}"):
                inodes.add(fields[9])
    return inodes


class SessionsClient:
    """List, create, type into and close the caller's sessions over REST."""

    def __init__(self, server: Server | None = None, *, timeout: float = 10.0) -> None:
        self.server = server or Server.discover()
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = urllib.parse.urljoin(self.server.url, f"{protocol.API_PATH}{path}")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) only
        if not url.startswith(("http://", "https://")):
            msg = f"not an http(s) URL: {url}"
            raise ServerNotFound(msg)
        request.add_header("Content-Type", "application/json")
        if self.server.token:
            request.add_header("Authorization", f"token {self.server.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, _message(exc)) from exc
        except urllib.error.URLError as exc:
            msg = f"cannot reach the Jupyter server at {self.server.url}: {exc.reason}"
            raise ServerNotFound(msg) from exc
        return json.loads(payload) if payload else None

    def list(self) -> list[protocol.SessionInfo]:
        """The caller's sessions."""
        return cast("list[protocol.SessionInfo]", self._request("GET", ""))

    def find(self, name: str) -> protocol.SessionInfo | None:
        """The caller's session called ``name``, if any."""
        return next((s for s in self.list() if s["name"] == name), None)

    def ensure(self, name: str, *, cwd: str | None = None) -> protocol.SessionInfo:
        """The session called ``name``, created if missing."""
        found = self.find(name)
        if found is not None:
            return found
        body: dict[str, Any] = {"name": name}
        if cwd:
            body["cwd"] = cwd
        return cast("protocol.SessionInfo", self._request("POST", "", body))

    def send(self, name: str, text: str) -> None:
        """Type ``text`` into the session called ``name`` (created if missing)."""
        self.type(self.ensure(name)["session_id"], text)

    def type(self, session_id: str, text: str) -> None:
        """Type ``text`` into the session ``session_id``."""
        for start in range(0, max(len(text), 1), protocol.MAX_INPUT_CHARS):
            piece = text[start : start + protocol.MAX_INPUT_CHARS]
            self._request("POST", f"/{session_id}/input", {"data": piece})

    def commands(self, session_id: str) -> protocol.CommandLog:
        """The session's command log (shell integration) and its retained output range."""
        return cast("protocol.CommandLog", self._request("GET", f"/{session_id}/commands"))

    def output(
        self, session_id: str, start: int, end: int | None = None, *, raw: bool = False
    ) -> protocol.OutputText:
        """Text of the session's output between two stream offsets (escapes removed unless raw)."""
        query = {"start": str(start), **({"end": str(end)} if end is not None else {})}
        if raw:
            query["raw"] = "1"
        path = f"/{session_id}/output?{urllib.parse.urlencode(query)}"
        return cast("protocol.OutputText", self._request("GET", path))

    def close(self, name: str) -> bool:
        """Close the session called ``name``; return whether there was one."""
        found = self.find(name)
        if found is None:
            return False
        self._request("DELETE", f"/{found['session_id']}")
        return True


def _message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        body = {}
    return str(body.get("message") or body.get("reason") or f"HTTP {error.code}")

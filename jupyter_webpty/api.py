"""A small client of the REST API for code running in a kernel (the widget and the magic).

The kernel may run anywhere; it only needs the server's URL and a credential. They are found,
in order, from ``WEBPTY_SERVER_URL`` (+ ``WEBPTY_TOKEN``), from the runtime file of the
jupyter-server that started this kernel (its pid is our parent's), or from the only running
server. Under JupyterHub the kernel's ``JUPYTERHUB_API_TOKEN`` authenticates as the hub user.
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
        infos = _runtime_infos()
        mine = [i for i in infos if i.get("pid") == os.getppid()]
        chosen = mine or (infos if len(infos) == 1 else [])
        if not chosen:
            msg = (
                "cannot tell which Jupyter server to use; set WEBPTY_SERVER_URL "
                "(and WEBPTY_TOKEN) in the kernel's environment"
            )
            raise ServerNotFound(msg)
        info = chosen[0]
        return cls(str(info["url"]).rstrip("/") + "/", str(info.get("token") or token))


def _runtime_infos() -> list[dict[str, Any]]:
    try:
        from jupyter_core.paths import jupyter_runtime_dir  # noqa: PLC0415 - optional, light
    except ImportError:  # pragma: no cover - jupyter_core comes with ipykernel
        return []
    infos = []
    for path in Path(jupyter_runtime_dir()).glob("jpserver-*.json"):
        try:
            infos.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return infos


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
        session = self.ensure(name)
        for start in range(0, max(len(text), 1), protocol.MAX_INPUT_CHARS):
            piece = text[start : start + protocol.MAX_INPUT_CHARS]
            self._request("POST", f"/{session['session_id']}/input", {"data": piece})

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

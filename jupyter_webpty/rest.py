"""The REST API, ``{base_url}webpty/api/sessions``: list, create, rename, type into, close.

Every method needs ``execute`` on ``terminals``, as the socket does (``auth.py``); the
protocol's parsers validate each body, and one mapper turns core errors into HTTP statuses.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from . import protocol
from .auth import OwnedAPIHandler, http_errors
from .core import SessionManager, SessionNotFound, command_text


class _SessionsHandler(OwnedAPIHandler):
    # Every method needs ``execute`` on ``terminals``, as the socket does (docs/protocol.md):
    # not jupyter's method-derived read/write, which would let a principal denied terminals
    # list their commands and directories and close them.

    def body(self) -> dict[str, Any]:
        # Not jupyter-server's get_json_body(): it answers a deeply nested body with a vague
        # "Invalid JSON", a body that is not UTF-8 with a 500, logs the body at ERROR (input may
        # carry a password) and lets a non-object through.
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise web.HTTPError(400, "request body is not JSON") from exc
        except RecursionError:
            raise web.HTTPError(400, "request body is nested too deeply") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "request body must be a JSON object")
        return data


class SessionsHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions``: list or create the caller's sessions."""

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self) -> None:
        self.finish(json.dumps([protocol.describe(s) for s in self.manager.sessions(self.owner)]))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self) -> None:
        body = self.body()
        body.setdefault("cols", 80)
        body.setdefault("rows", 24)
        with http_errors():
            request = protocol.parse_create(body)
            session = self.manager.create(
                self.owner, cols=request.cols, rows=request.rows, name=request.name, cwd=request.cwd
            )
        self.set_status(201)
        self.finish(json.dumps(protocol.describe(session)))


class SessionHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions/{session_id}``: show, rename or close one session."""

    def session(self, session_id: str) -> Any:
        try:
            return self.manager.get(self.owner, session_id)
        except SessionNotFound as exc:
            raise web.HTTPError(404, str(exc)) from exc

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        self.finish(json.dumps(protocol.describe(self.session(session_id))))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def patch(self, session_id: str) -> None:
        """Rename: ``{"name": str}``."""
        with http_errors():
            request = protocol.parse_rename({**self.body(), "session_id": session_id})
            session = self.manager.rename(self.owner, session_id, request.name)
        self.finish(json.dumps(protocol.describe(session)))

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def delete(self, session_id: str) -> None:
        await self.session(session_id).terminate()
        self.set_status(204)
        self.finish()


class InputHandler(_SessionsHandler):
    """``{base_url}webpty/api/sessions/{session_id}/input``: type ``{"data": str}``."""

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self, session_id: str) -> None:
        with http_errors():
            request = protocol.parse_input({**self.body(), "session_id": session_id})
            session = self.manager.get(self.owner, session_id)
            session.write(request.data.encode("utf-8"))
        self.set_status(204)
        self.finish()


class CommandsHandler(SessionHandler):
    """``{base_url}webpty/api/sessions/{session_id}/commands``: the command log (marks)."""

    SUPPORTED_METHODS = ("GET",)  # not the session's PATCH and DELETE

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        session = self.session(session_id)
        reply: protocol.CommandLog = {
            "commands": [protocol.command_info(r) for r in session.output.commands()],
            "shell_integration": session.integrated,
            "has_prompted": session.output.has_prompted,
            "retained_from": session.end - session.retained_bytes,
            "end": session.end,
        }
        self.finish(json.dumps(reply))


class OutputHandler(SessionHandler):
    """``.../sessions/{session_id}/output?start=&end=[&raw=1]``: text of an output range.

    Escape sequences are removed unless ``raw`` is ``1`` or ``true``; ``truncated`` says when
    the range's beginning is no longer retained.
    """

    SUPPORTED_METHODS = ("GET",)  # not the session's PATCH and DELETE

    def offset(self, key: str, default: int) -> int:
        text = self.get_argument(key, "")
        if not text:
            return default
        # Bounded before int(): Python refuses over 4300 digits (sys.int_info).
        if len(text) > 19 or not text.isdigit():
            raise web.HTTPError(400, f"{key} must be a stream offset (a non-negative integer)")
        return int(text)

    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def get(self, session_id: str) -> None:
        session = self.session(session_id)
        start = self.offset("start", 0)
        end = self.offset("end", session.end)
        keep = self.get_argument("raw", "") in ("1", "true")
        data, actual = session.output.read_range(start, max(start, end))
        reply: protocol.OutputText = {
            "text": command_text(data, keep_escapes=keep),
            "start": actual,
            "end": actual + len(data),
            "truncated": actual > start,
        }
        self.finish(json.dumps(reply))


def rest_handlers(manager: SessionManager, owner_policy: str) -> list[tuple[str, Any, Any]]:
    """Route table of the REST API, relative to the server's ``base_url``."""
    kwargs = {"manager": manager, "owner_policy": owner_policy}
    sid = r"(?P<session_id>[A-Za-z0-9_\-]{1,128})"
    return [
        (rf"/{protocol.API_PATH}/?", SessionsHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/?", SessionHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/input/?", InputHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/commands/?", CommandsHandler, kwargs),
        (rf"/{protocol.API_PATH}/{sid}/output/?", OutputHandler, kwargs),
    ]

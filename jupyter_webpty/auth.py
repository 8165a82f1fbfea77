"""Who may use webpty over HTTP, and what its handlers log: the auth policy of every door.

Every webpty handler (the Socket.IO endpoint, the REST API, the terminado-compatible endpoints)
needs ``execute`` on ``terminals``, as the built-in terminals do, and maps an authenticated
request to an owner key (``owner_of``): sessions are private to their owner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web
from tornado.log import app_log, gen_log

from . import protocol
from .core import InvalidCwd, SessionManager, SessionNotFound, WebPtyError

AUTH_RESOURCE = "terminals"
#: The owner key of everyone the single-user identity providers let in: the server's owner.
SERVER_OWNER = "server-owner"
_SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


def _without_query(uri: str | None) -> str:
    return (uri or "").partition("?")[0]


class ScrubbedLog:
    """``log_exception`` as tornado's, with the request's query left out.

    Tornado logs an HTTPError's message and any uncaught exception with the full URI, and a
    websocket URL or REST call may carry ``?token=``. (jupyter-server's own request log already
    scrubs it.)
    """

    request: Any

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        summary = (
            f"{self.request.method} {_without_query(self.request.uri)} ({self.request.remote_ip})"
        )
        if isinstance(value, web.HTTPError):
            if value.log_message:
                message = value.log_message % value.args if value.args else value.log_message
                gen_log.warning("%d %s: %s", value.status_code, summary, message)
        else:
            app_log.error("Uncaught exception %s", summary, exc_info=value)


class Guarded(ScrubbedLog):
    """Base of every webpty handler: the ``terminals`` auth resource, a log without the query.

    Mixed in first, before jupyter-server's handler classes, so its ``log_exception`` wins.
    """

    auth_resource = AUTH_RESOURCE


def owner_of(handler: JupyterHandler, policy: str) -> str | None:
    """The owner key of an authenticated request, or None.

    ``policy`` "server" maps every authenticated request to the server's owner, "user" uses the
    username, "auto" picks "server" for jupyter-server's own single-user identity providers
    (which give each token request a fresh random anonymous name) and "user" otherwise.
    """
    user = handler.current_user
    if not user:
        return None
    if policy == "auto":
        single = type(handler.identity_provider) in _SINGLE_USER_PROVIDERS
        policy = "server" if single else "user"
    if policy == "server":
        return SERVER_OWNER
    return f"user:{user.username}"


async def is_authorized(handler: JupyterHandler, action: str) -> bool:
    """Whether the authorizer lets the request's user do ``action`` on ``terminals``."""
    user = handler.current_user
    if not user:
        return False
    return bool(
        await ensure_async(handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE))
    )


@contextlib.contextmanager
def http_errors(not_found: Callable[[SessionNotFound], str] = str) -> Iterator[None]:
    """Map protocol and core errors to Jupyter's JSON HTTP errors, for every REST door.

    400 for a malformed request or a directory outside the root, 404 for an unknown (or
    foreign) session, with the message ``not_found(exc)`` (a door may word it as its clients
    expect), 409 for a refusal given the current state (name taken, limits).
    """
    try:
        yield
    except (protocol.ProtocolError, InvalidCwd) as exc:
        raise web.HTTPError(400, str(exc)) from exc
    except SessionNotFound as exc:
        raise web.HTTPError(404, not_found(exc)) from exc
    except WebPtyError as exc:
        raise web.HTTPError(409, str(exc)) from exc


class OwnedAPIHandler(Guarded, APIHandler):
    """Base of the REST handlers: the manager, and the caller's owner key (403 without one).

    Routes pass ``manager`` and ``owner_policy`` (see ``owner_of``) as handler arguments.
    """

    manager: SessionManager
    owner_policy: str

    def initialize(self, manager: SessionManager, owner_policy: str) -> None:
        self.manager = manager
        self.owner_policy = owner_policy

    @property
    def owner(self) -> str:
        """The owner key of the caller; 403 for a request without one."""
        owner = owner_of(self, self.owner_policy)
        if owner is None:
            raise web.HTTPError(403)
        return owner

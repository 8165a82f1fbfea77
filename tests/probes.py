"""What the auth and hostile tests probe the server with: raw HTTP, two users, log capture.

Raw HTTP/1.1 (``raw_request``) so that no client library adds, drops or rewrites a header
(Host, Origin, Cookie, Upgrade) or decodes a ``/a%40b/`` base URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User

from .conftest import wait_until

#: (status, headers with lower-cased names, body)
Reply = tuple[int, dict[str, str], bytes]
#: jupyter-server's request log line.
ACCESS = re.compile(r"\d{3} [A-Z]+ /")
USERS = {"alice-token": "alice", "bob-token": "bob"}


class TwoUsers(IdentityProvider):
    """A multi-user identity provider: ``Authorization: token alice-token`` is alice."""

    def _name(self, handler: Any) -> str | None:
        scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
        return USERS.get(token) if scheme.lower() == "token" else None

    def get_user(self, handler: Any) -> User | None:
        name = self._name(handler)
        return None if name is None else User(username=name, name=name)

    def is_token_authenticated(self, handler: Any) -> bool:
        return self._name(handler) is not None


async def raw_request(
    port: int, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
) -> Reply:
    """One request on a fresh connection to 127.0.0.1:``port``; ``target`` is the full path.

    Repeated headers (Set-Cookie) come back joined by newlines. After a 101 the body is not
    read and the connection is closed.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = {"Host": f"127.0.0.1:{port}", "Content-Length": str(len(body)), **headers}
        lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await reader.readline()).split()[1])
        reply: dict[str, str] = {}
        while line := (await reader.readline()).decode().strip():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            reply[key] = f"{reply[key]}\n{value.strip()}" if key in reply else value.strip()
        length = 0 if status == 101 else int(reply.get("content-length", "0"))
        return status, reply, await reader.readexactly(length)
    finally:
        writer.close()


@contextmanager
def all_logs(jp_serverapp: Any) -> Iterator[list[logging.LogRecord]]:
    """Every record at DEBUG and above from the root logger and the server's own loggers
    (jupyter-server's app logger does not propagate, and tornado's is made its child)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    names = ["", "tornado", "tornado.access", "tornado.application", "tornado.general"]
    loggers = [logging.getLogger(name) for name in names] + [jp_serverapp.log]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def leaks(records: list[logging.LogRecord], secret: str) -> list[str]:
    """The formatted records (message and traceback) that contain ``secret``."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [text for text in map(formatter.format, records) if secret in text]


#: A raw request: method, path below the base URL (it may carry a query), body, extra headers.
Request = tuple[str, str, bytes, dict[str, str]]


async def send_with_token_in_query(
    jp_serverapp: Any, port: int, base_url: str, requests: list[Request]
) -> tuple[list[int], list[str]]:
    """Send each request with the server's token in its query (as links and scripts do), and
    wait until each is in the access log: the statuses, and the log lines showing the token."""
    token = str(jp_serverapp.identity_provider.token)
    statuses = []
    with all_logs(jp_serverapp) as records:
        for method, path, body, extra in requests:
            target = f"{base_url}{path}{'&' if '?' in path else '?'}token={token}"
            statuses.append((await raw_request(port, method, target, extra, body))[0])
        await wait_until(
            lambda: sum(1 for r in records if ACCESS.match(r.getMessage())) >= len(requests),
            what="every request in the access log",
        )
    return statuses, leaks(records, token)

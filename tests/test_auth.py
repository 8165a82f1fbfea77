"""The auth matrix of the Socket.IO endpoint and the REST API against a real jupyter-server.

Negative cases speak raw HTTP/1.1 (the ``http`` fixture) so that no client library adds, drops
or rewrites a header (Host, Origin, Cookie, Upgrade) or decodes the ``/a%40b/`` base URL.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
import socketio
from jupyter_server.auth.authorizer import Authorizer

from .conftest import Client, socket_path, wait_until, webpty_app
from .probes import Reply, TwoUsers, raw_request


class NoTerminalExecute(Authorizer):
    """Allows everything except ``execute`` on ``terminals``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "terminals" and action == "execute")


@pytest.fixture
def http(http_server_client: Any, jp_http_port: int, jp_base_url: str, jp_serverapp: Any) -> Any:
    """``await http(method, path_below_base_url, headers, body)`` -> (status, headers, body).

    Header names come back lower-cased; repeated ones (Set-Cookie) are joined by newlines.
    """

    async def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        reply = await raw_request(jp_http_port, method, f"{jp_base_url}{path}", headers, body)
        if reply[0] == 101:  # Engine.IO opened a socket for us: it must go away with the TCP link
            await wait_until(lambda: not engineio_sockets(jp_serverapp), what="socket cleanup")
        return reply

    return request


def cookies_of(headers: dict[str, str]) -> dict[str, str]:
    """The cookies a response sets."""
    jar = SimpleCookie()
    for line in headers.get("set-cookie", "").splitlines():
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


UPGRADE = "webpty/socket.io/?EIO=4&transport=websocket"
POLLING = "webpty/socket.io/?EIO=4&transport=polling"
API = "webpty/api/sessions"


def upgrade(**headers: str) -> dict[str, str]:
    """Headers of a websocket upgrade request, plus ``headers``."""
    key = base64.b64encode(os.urandom(16)).decode()
    ws = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    return {**ws, "Sec-WebSocket-Key": key, **headers}


def engineio_sockets(jp_serverapp: Any) -> dict[str, Any]:
    """The Engine.IO sessions the extension's Socket.IO server holds."""
    return webpty_app(jp_serverapp).sio.eio.sockets  # type: ignore[no-any-return]


@pytest.fixture
def token(jp_serverapp: Any) -> str:
    return str(jp_serverapp.identity_provider.token)


@pytest.fixture
def origin(http_server_client: Any, jp_http_port: int) -> str:
    return f"http://127.0.0.1:{jp_http_port}"


async def refused(client: Client) -> None:
    """``client`` cannot connect; close what python-engineio leaves open after a refusal."""
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    if client.sio.eio.http is not None:
        await client.sio.eio.http.close()


async def test_token_is_required(
    http: Any, token: str, origin: str, jp_base_url: str, connect: Any
) -> None:
    for query, auth, status in [("", "", 403), ("", "token wrong", 403), ("&token=wrong", "", 403),
                                (f"&token={token}", "", 101), ("", f"token {token}", 101)]:  # fmt: skip
        headers = upgrade(Authorization=auth) if auth else upgrade()
        assert (await http("GET", UPGRADE + query, headers))[0] == status, (query, auth)
    await refused(Client(origin, socket_path(jp_base_url), {}))
    # A real client with the token in the query, then in the Authorization header.
    by_query = await Client(f"{origin}?token={token}", socket_path(jp_base_url), {}).connect()
    try:
        session_id = await by_query.create()
    finally:
        await by_query.close()
    async with connect() as by_header:  # Authorization: token ...
        assert (await by_header.call("terminal:close", {"session_id": session_id}))["success"]


async def login(http: Any, token: str) -> str:
    """Log in as a browser does (GET the form, POST the token with ``_xsrf``); the cookie."""
    status, headers, _ = await http("GET", "login", {})
    assert status == 200
    xsrf = cookies_of(headers)["_xsrf"]
    form = urlencode({"_xsrf": xsrf, "password": token}).encode()
    kind = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={xsrf}"}
    status, headers, _ = await http("POST", "login", kind, form)
    assert status == 302
    [(name, value)] = [kv for kv in cookies_of(headers).items() if kv[0].startswith("username")]
    return f"{name}={value}"


async def test_login_cookie_connects_and_origin_is_checked(
    http: Any, origin: str, jp_base_url: str, token: str
) -> None:
    cookie = await login(http, token)
    # Headers passed this way reach the upgrade request verbatim (python-engineio would move a
    # Cookie header into aiohttp's jar, which ignores cookies of IP hosts and "%40" paths).
    browser = {"headers": {"Cookie": cookie, "Origin": origin}}
    sio = socketio.AsyncClient(reconnection=False, websocket_extra_options=browser)
    await sio.connect(
        origin, socketio_path=socket_path(jp_base_url), transports=["websocket"], wait_timeout=10
    )
    try:
        reply = await sio.call("terminal:create", {"cols": 80, "rows": 24}, timeout=10)
        assert reply["success"], reply
        assert (await sio.call("terminal:close", {"session_id": reply["session_id"]}))["success"]
    finally:
        await sio.disconnect()
    assert (await http("GET", UPGRADE, upgrade(Cookie=cookie, Origin=origin)))[0] == 101
    evil = {"Cookie": cookie, "Origin": "http://evil.example"}
    assert (await http("GET", UPGRADE, upgrade(**evil)))[0] == 403
    forwarded = upgrade(**evil, **{"X-Forwarded-Host": "evil.example"})
    assert (await http("GET", UPGRADE, forwarded))[0] == 403
    assert (await http("GET", UPGRADE, upgrade(Origin=origin)))[0] == 403  # no cookie, no entry


async def test_host_check_matches_jupyters_own(http: Any, token: str) -> None:
    auth = f"token {token}"
    evil = {"Host": "evil.example", "Authorization": auth}
    # jupyter-server refuses a non-local Host on its own API (DNS rebinding): so do we.
    assert (await http("GET", "api/status", evil))[0] == 403
    assert (await http("GET", UPGRADE, upgrade(**evil)))[0] == 403
    assert (await http("GET", API, evil))[0] == 403
    local = {"Host": "localhost", "Authorization": auth}
    assert (await http("GET", "api/status", local))[0] == 200
    assert (await http("GET", UPGRADE, upgrade(**local)))[0] == 101


@pytest.mark.parametrize("server_config", [{"terminals_enabled": False}])
async def test_terminals_disabled_is_404(
    http: Any, token: str, origin: str, jp_base_url: str
) -> None:
    auth = {"Authorization": f"token {token}"}
    assert (await http("GET", "api/status", auth))[0] == 200
    assert (await http("GET", UPGRADE.replace("/?", "?"), upgrade(**auth)))[0] == 404
    # With the slash Jupyter's generic TrailingSlashHandler answers first: a redirect to the 404.
    status, headers, _ = await http("GET", UPGRADE, upgrade(**auth))
    assert status == 302
    assert headers["location"].endswith(UPGRADE.replace("/?", "?"))
    assert (await http("GET", API, auth))[0] == 404
    await refused(Client(origin, socket_path(jp_base_url), auth))


@pytest.mark.parametrize("server_config", [{"authorizer_class": NoTerminalExecute}])
async def test_authorizer_denying_terminal_execute(http: Any, token: str) -> None:
    auth = {"Authorization": f"token {token}"}
    assert (await http("GET", "api/contents", auth))[0] == 200
    assert (await http("GET", "api/terminals", auth))[0] == 200  # reading terminals is allowed
    assert (await http("GET", UPGRADE, upgrade(**auth)))[0] == 403
    # The contract: the REST API needs `execute` on `terminals`, like the socket.
    for method, path in [("GET", API), ("POST", API), ("DELETE", f"{API}/x"), ("GET", f"{API}/x")]:
        assert (await http(method, path, auth, b"{}" if method == "POST" else b""))[0] == 403


async def test_polling_and_jsonp_are_refused(http: Any, token: str, jp_serverapp: Any) -> None:
    auth = {"Authorization": f"token {token}"}
    assert (await http("GET", POLLING, {}))[0] == 403
    assert (await http("POST", POLLING, {}, b"40"))[0] == 403
    assert (await http("GET", POLLING + "&j=0", {}))[0] == 403
    assert engineio_sockets(jp_serverapp) == {}
    assert (await http("GET", POLLING, auth))[0] == 400
    assert (await http("POST", POLLING, auth, b"40"))[0] == 405
    status, _, body = await http("GET", POLLING + "&j=0", auth)
    assert (status, b"___eio" in body) == (400, False)
    assert (await http("OPTIONS", POLLING, auth))[0] == 405
    assert engineio_sockets(jp_serverapp) == {}


async def test_rest_requires_auth(http: Any, jp_fetch: Any) -> None:
    created = await jp_fetch(API, method="POST", body=json.dumps({"name": "rest"}))
    assert created.code == 201
    session_id = json.loads(created.body)["session_id"]
    for method, path in [("GET", API), ("POST", API), ("GET", f"{API}/{session_id}"),
                         ("POST", f"{API}/{session_id}/input"), ("DELETE", f"{API}/{session_id}")]:  # fmt: skip
        body = b'{"data": "exit\\n"}' if method == "POST" else b""
        assert (await http(method, path, {}, body))[0] == 403, (method, path)
    listing = json.loads((await jp_fetch(API)).body)
    assert [s["session_id"] for s in listing] == [session_id]
    assert (await jp_fetch(API, session_id, method="DELETE")).code == 204
    assert json.loads((await jp_fetch(API)).body) == []


async def test_token_clients_share_one_owner(connect: Any, jp_fetch: Any) -> None:
    # The default identity provider makes every token request a fresh anonymous user: a script
    # that reconnects with the token must still find its session.
    async with connect() as first:
        session_id = await first.create(name="script")
    async with connect() as second:
        listing = await second.call("terminal:list", {})
        assert [s["name"] for s in listing["sessions"]] == ["script"]
        reply = await second.call("terminal:reconnect", {"name": "script"})
        assert reply["session_id"] == session_id
        await second.send(session_id, "echo again-$((40+2))\n")
        await second.read_until(session_id, "again-42")
    assert [s["name"] for s in json.loads((await jp_fetch(API)).body)] == ["script"]


async def barrier(client: Client) -> None:
    """After two round trips every error the earlier events caused has arrived: the server
    queues an error emit before it sends the second reply (the first may overtake it)."""
    await client.call("terminal:list", {})
    await client.call("terminal:list", {})


async def refusal(client: Client, event: str, payload: dict[str, Any]) -> str:
    """The error ``event`` got: from its ack, or from ``terminal:error`` for ack-less events."""
    before = len(client.errors)
    if event in ("terminal:input", "terminal:resize", "terminal:ack"):
        await client.sio.emit(event, payload)
        await barrier(client)
        [error] = client.errors[before:]
        return str(error["error"])
    reply = await client.call(event, payload)
    assert reply["success"] is False, (event, reply)
    assert len(client.errors) == before
    return str(reply["error"])


@pytest.fixture
def as_user(connect: Any) -> Any:
    """``as_user("alice")``: a connection authenticated by the TwoUsers provider."""
    return lambda name, **kw: connect(headers={"Authorization": f"token {name}-token"}, **kw)


TWO_USERS = pytest.mark.parametrize("server_config", [{"identity_provider_class": TwoUsers}])


@TWO_USERS
async def test_foreign_session_looks_unknown(as_user: Any, jp_fetch: Any) -> None:
    async with as_user("alice") as alice, as_user("bob") as bob:
        mine = await alice.create(name="secret")
        unknown = secrets.token_urlsafe(16)
        for event, extra in [("terminal:reconnect", {}), ("terminal:input", {"data": "echo pwned\n"}),
                             ("terminal:resize", {"cols": 20, "rows": 5}), ("terminal:ack", {"offset": 1}),
                             ("terminal:detach", {}), ("terminal:close", {})]:  # fmt: skip
            seen = await refusal(bob, event, {"session_id": mine, "user_id": "alice", **extra})
            expected = await refusal(bob, event, {"session_id": unknown, **extra})
            assert seen.replace(mine, "ID") == expected.replace(unknown, "ID"), event
        by_name = await refusal(bob, "terminal:reconnect", {"name": "secret"})
        nothing = await refusal(bob, "terminal:reconnect", {"name": "nothing"})
        assert by_name == nothing.replace("nothing", "secret")
        assert (await bob.call("terminal:list", {}))["sessions"] == []
        bob_rest = {"Authorization": "token bob-token"}
        for method, path in [("GET", ""), ("DELETE", ""), ("POST", "/input")]:
            body = json.dumps({"data": "x"}) if method == "POST" else None
            for session_id in (mine, unknown):
                url = f"{API}/{session_id}{path}"
                kw = {"method": method, "body": body, "headers": bob_rest, "raise_error": False}
                assert (await jp_fetch(url, **kw)).code == 404, (method, path)
        assert json.loads((await jp_fetch(API, headers=bob_rest)).body) == []
        # Alice's session is untouched: same size, still attached, still echoing.
        await alice.send(mine, "stty size; echo still-$((6*7))\n")
        await alice.read_until(mine, "still-42")
        assert "24 80" in alice.terminal(mine).text
        assert "pwned" not in alice.terminal(mine).text
        [info] = (await alice.call("terminal:list", {}))["sessions"]
        assert (info["session_id"], info["clients"]) == (mine, 1)
        assert mine not in bob.terminals


@TWO_USERS
async def test_payload_user_fields_are_ignored(as_user: Any) -> None:
    async with as_user("alice") as alice, as_user("bob") as bob:
        forged = {"user_id": "alice", "owner": "user:alice", "username": "alice"}
        reply = await bob.call("terminal:create", {"cols": 80, "rows": 24, **forged})
        assert reply["success"], reply
        assert (await alice.call("terminal:list", forged))["sessions"] == []
        [info] = (await bob.call("terminal:list", forged))["sessions"]
        assert info["session_id"] == reply["session_id"]
        theirs = await alice.create(name="a")
        reconnect = await bob.call("terminal:reconnect", {"session_id": theirs, **forged})
        assert reconnect["success"] is False


@TWO_USERS
async def test_foreign_user_cannot_reach_alices_connections(as_user: Any) -> None:
    # Rooms are named after owners; no event may make the server emit into another's room.
    async with as_user("alice") as alice, as_user("bob") as bob:
        await alice.create()
        alice.errors.clear()
        for event in ("*", "terminal:unknown", "message"):
            await bob.call(event, "owner:user:alice")
        await barrier(bob)
        await barrier(alice)
        assert alice.errors == []

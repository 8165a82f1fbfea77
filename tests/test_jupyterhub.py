"""A real JupyterHub on loopback: terminals through the hub's proxy, per-user isolation, activity.

JupyterHub (pip) runs configurable-http-proxy (npm, tests/hub/node_modules) and spawns
``jupyterhub-singleuser`` as local processes (SimpleLocalProcessSpawner) from this test's Python
environment, where jupyter_webpty is installed and enabled by its jupyter-config file. alice,
carol (with whom alice's server is shared) and bob (who holds nothing on it) reach alice's
server only through the proxy's public URL, as a browser would.

One hub serves the whole module (starting it and a server takes ~5-10 s); the last test stops it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import socketio

from .conftest import Client
from .hub.local_hub import LocalHub, missing_prerequisites
from .processes import command_line

pytestmark = pytest.mark.slow

ALICE = "/user/alice/"
SOCKET_PATH = f"{ALICE}webpty/socket.io"
SESSIONS = f"{ALICE}webpty/api/sessions"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A started hub with users alice, bob and carol, and alice's server running."""
    missing = missing_prerequisites()
    if missing:
        reason = "JupyterHub test prerequisites missing: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    local_hub = LocalHub(tmp_path_factory.mktemp("jupyterhub"))
    try:
        try:
            local_hub.start()
            for name in ("alice", "bob", "carol"):
                local_hub.create_user(name)
            local_hub.start_server("alice")
        except (TimeoutError, RuntimeError, AssertionError) as exc:
            pytest.fail(f"{exc}\n--- hub log ---\n{local_hub.log_tail()}")
        yield local_hub
    finally:
        local_hub.stop()
        local_hub.kill()


@pytest.fixture(scope="module")
def alice_token(hub: LocalHub) -> str:
    """A token of alice's that may use her servers and nothing else."""
    return hub.token_for("alice", ["access:servers!user=alice"])


def client(hub: LocalHub, token: str) -> Client:
    """A Socket.IO client for alice's server, through the proxy's public URL."""
    return Client(hub.public_url, SOCKET_PATH, {"Authorization": f"token {token}"})


async def create(client: Client) -> str:
    """Start a session in the server's default shell and wait until it runs commands."""
    reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
    assert reply["success"], reply
    session_id = str(reply["session_id"])
    # Arithmetic, so that the echo of the typed command itself cannot match.
    await client.send(session_id, "echo ready-$((20+22))\r")
    await client.read_until(session_id, "ready-42", timeout=15)
    return session_id


async def test_alice_reaches_her_terminal_through_the_hub_proxy(
    hub: LocalHub, alice_token: str
) -> None:
    alice = await client(hub, alice_token).connect()
    try:
        session_id = await create(alice)
        await alice.send(session_id, "echo $JUPYTERHUB_USER-$((6*7))\r")
        await alice.read_until(session_id, "alice-42")

        status, sessions = hub.api("GET", SESSIONS, token=alice_token)
        assert status == 200, sessions
        assert session_id in [s["session_id"] for s in sessions]
        assert (await alice.call("terminal:close", {"session_id": session_id}))["success"]
    finally:
        await alice.close()


async def test_bob_cannot_reach_alices_terminals(hub: LocalHub, alice_token: str) -> None:
    status, session = hub.api("POST", SESSIONS, token=alice_token, body={"name": "private"})
    assert status == 201, session
    bob_token = hub.token_for("bob")  # everything bob may do

    bob = client(hub, bob_token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bob.connect()
    assert not bob.sio.connected

    # The same upgrade request without a websocket client, to see the status: alice passes
    # authentication and authorization (then 400: not a websocket), bob is refused before.
    probe = f"{SOCKET_PATH}/?EIO=4&transport=websocket"
    assert hub.request("GET", probe, token=alice_token)[0] == 400
    assert hub.request("GET", probe, token=bob_token)[0] == 403

    status, reply = hub.api("GET", SESSIONS, token=bob_token)
    assert status == 403, reply
    status, reply = hub.api("GET", f"{SESSIONS}/{session['session_id']}", token=bob_token)
    assert status == 403, reply
    status, reply = hub.api(
        "POST", f"{SESSIONS}/{session['session_id']}/input", token=bob_token, body={"data": "x"}
    )
    assert status == 403, reply

    status, _ = hub.api("DELETE", f"{SESSIONS}/{session['session_id']}", token=alice_token)
    assert status == 204


async def test_shared_access_gives_own_terminals_not_alices(
    hub: LocalHub, alice_token: str
) -> None:
    """carol may use alice's server (a share): she gets her own sessions, never alice's."""
    hub.share("alice", "carol")
    carol_token = hub.token_for("carol")
    alice = await client(hub, alice_token).connect()
    carol = await client(hub, carol_token).connect()
    try:
        alices = await create(alice)
        assert (await carol.call("terminal:list", {}))["sessions"] == []
        status, listed = hub.api("GET", SESSIONS, token=carol_token)
        assert (status, listed) == (200, [])
        denied = await carol.call("terminal:reconnect", {"session_id": alices})
        assert not denied["success"], denied
        body = {"data": "exit\r"}
        status, _ = hub.api("POST", f"{SESSIONS}/{alices}/input", token=carol_token, body=body)
        assert status == 404

        carols = await create(carol)
        listed = (await alice.call("terminal:list", {}))["sessions"]
        assert [s["session_id"] for s in listed] == [alices]
        for who, session_id in ((alice, alices), (carol, carols)):
            assert (await who.call("terminal:close", {"session_id": session_id}))["success"]
    finally:
        await alice.close()
        await carol.close()


async def test_terminal_activity_moves_the_hubs_last_activity(
    hub: LocalHub, alice_token: str
) -> None:
    """jupyterhub-singleuser reports the extension's activity (every 2 s here) to the hub.

    The hub's own proxy-based activity poll is disabled (tests/hub/jupyterhub_config.py), and no
    REST request reaches alice's server after ``typed_at``: only terminal activity can move it.
    """
    alice = await client(hub, alice_token).connect()
    try:
        session_id = await create(alice)
        before = hub.last_activity("alice")
        typed_at = datetime.now(timezone.utc)
        assert before < typed_at
        # Output that goes on for over a second: the extension reports activity at most once a
        # second, so a burst right after a report (create's output above) is not reported.
        await alice.send(session_id, "echo start; sleep 1.2; echo done-$((6*7))\r")
        await alice.read_until(session_id, "done-42")

        deadline = datetime.now(timezone.utc).timestamp() + 15
        after = hub.last_activity("alice")
        while after < typed_at and datetime.now(timezone.utc).timestamp() < deadline:
            await alice.sio.sleep(0.2)  # polling the hub, with a deadline
            after = hub.last_activity("alice")
        assert after >= typed_at, f"hub's last_activity {after} is older than typing at {typed_at}"
        assert after > before
        assert (await alice.call("terminal:close", {"session_id": session_id}))["success"]
    finally:
        await alice.close()


class JobOutlivedServer(Exception):
    """A job the extension should have ended with its session outlived the user's server."""


async def test_stopping_the_hub_leaves_no_process(hub: LocalHub, alice_token: str) -> None:
    """SIGTERM to the hub ends the proxy, alice's server, her detached shell and its nohup job.

    The hub stops servers with SIGINT, with no tty: ``WebPtyApp`` routes it to the server's
    stop, whose ``stop_extension`` must end the nohup job (a survivor is reported as
    ``JobOutlivedServer``).
    """
    alice = await client(hub, alice_token).connect()
    try:
        session_id = await create(alice)
        # A job that ignores SIGHUP outlives the terminal's hangup: only the extension's close
        # of its sessions (SIGHUP, SIGTERM, SIGKILL to the terminal's session) ends it.
        await alice.send(
            session_id, "nohup sleep 600 >/dev/null 2>&1 & echo job=$! shell=$$ end-$((1+1))\r"
        )
        text = await alice.read_until(session_id, "end-2")
        found = re.search(r"job=(\d+) shell=(\d+) end-2", text)
        assert found, text
    finally:
        await alice.close()  # detached: the session must end with the server, not with this

    proxy = int(Path(hub.run_dir, "proxy.pid").read_text())
    job, shell = int(found[1]), int(found[2])
    tree = hub.snapshot()
    assert {proxy, job, shell} <= set(tree), (proxy, job, shell, tree)

    leftovers = hub.stop()
    assert hub.process is not None
    assert hub.process.returncode is not None
    others = [pid for pid in leftovers if pid != job]
    assert others == [], {pid: command_line(pid) for pid in others}
    if job in leftovers:
        msg = f"nohup job {job} ({command_line(job)}) outlived alice's server"
        raise JobOutlivedServer(msg)

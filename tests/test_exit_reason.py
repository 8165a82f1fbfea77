"""``terminal:exit`` says when the server ended a shell because the server is stopping."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_webpty import protocol

from .conftest import wait_until, webpty_app


def record_exits(client: Any) -> list[dict[str, Any]]:
    """Keep every ``terminal:exit`` payload (and still update the client's terminal)."""
    exits: list[dict[str, Any]] = []

    def on_exit(payload: dict[str, Any]) -> None:
        exits.append(payload)
        client._on_exit(payload)

    client.sio.on(protocol.EXIT, on_exit)
    return exits


async def close_one_then_stop(client: Any, app: Any) -> tuple[list[dict[str, Any]], str, str]:
    """Close one session on request, then stop the server's sessions with another running.

    Returns every exit the client heard, and the closed and the running session's ids.
    """
    exits = record_exits(client)
    closed = await client.create()
    assert (await client.call(protocol.CLOSE, {"session_id": closed}))["success"]
    await wait_until(lambda: len(exits) == 1, what="exit of the closed session")
    # A shell closed on request: no reason, the session simply ended.
    assert exits[0]["session_id"] == closed
    assert "reason" not in exits[0]
    running = await client.create()
    # What stop_extension does first (calling it here would make the fixture's own stop
    # shut python-socketio down twice, which raises).
    app.events.stopping()
    await app.manager.close_all()
    return exits, closed, running


@pytest.mark.parametrize("webpty_config", [{"revive_sessions": False}])
async def test_exit_on_server_stop_carries_the_shutdown_reason(
    connect: Any, jp_serverapp: Any
) -> None:
    async with connect() as client:
        exits, _, running = await close_one_then_stop(client, webpty_app(jp_serverapp))
        await wait_until(lambda: len(exits) == 2, what="exit at server stop")
        assert exits[1]["session_id"] == running
        assert exits[1]["reason"] == protocol.EXIT_REASON_SHUTDOWN


async def test_no_exit_on_server_stop_for_a_session_the_next_server_revives(
    connect: Any, jp_serverapp: Any
) -> None:
    app = webpty_app(jp_serverapp)
    async with connect() as client:
        exits, closed, running = await close_one_then_stop(client, app)
        assert len(app.manager) == 0  # its shell ended
        # Events are emitted in order: a reply after the close means no exit was sent before.
        assert (await client.call(protocol.LIST, {}))["success"]
        assert running not in [e["session_id"] for e in exits]
        assert [e["session_id"] for e in exits] == [closed]

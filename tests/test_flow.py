"""Flow control, floods, Ctrl+C, detached retention, culling and activity reporting."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_webpty.core import SessionManager
from jupyter_webpty.core.viewers import message_limit

from .conftest import PROMPT, wait_until

SMALL = {"scrollback_bytes": 256 * 1024, "flow_high_water": 64 * 1024, "flow_low_water": 16 * 1024}


def manager_of(jp_serverapp: Any) -> SessionManager:
    manager: SessionManager = jp_serverapp.web_app.settings["webpty_manager"]
    return manager


@pytest.mark.parametrize("webpty_config", [SMALL])
async def test_client_that_stops_reading_pauses_the_pty(
    connect: Any, jp_serverapp: Any, webpty_config: Any
) -> None:
    manager = manager_of(jp_serverapp)
    async with connect(auto_ack=False) as client:
        reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
        session_id = reply["session_id"]
        [session] = list(manager._sessions.values())
        await client.send(session_id, "yes\n")
        # Without acks the server stops reading the PTY: `yes` blocks on a full terminal.
        await wait_until(lambda: session.paused, 10, "PTY paused")
        paused_at = session.end
        term = client.terminal(session_id)
        high = SMALL["flow_high_water"]
        message = message_limit(high)  # the most one read (so one message) takes
        # The client is sent output until it holds a window's worth unacknowledged; a drain
        # that was already reading when the window filled is retained, at most one message,
        # and goes out after the next ack.
        await wait_until(
            lambda: term.offset >= high and paused_at - term.offset <= message,
            10,
            "in-flight output delivered",
        )
        # What the client holds unacknowledged is bounded by the high-water mark plus one read.
        assert term.offset <= high + message
        assert session.end == paused_at  # still paused: nothing more was read
        # Acknowledge: reading resumes and more output flows.
        await client.sio.emit("terminal:ack", {"session_id": session_id, "offset": term.offset})
        await wait_until(lambda: session.end > paused_at, 10, "reading resumed")
        client.auto_ack = True
        await client.sio.emit("terminal:ack", {"session_id": session_id, "offset": term.offset})
        await client.send(session_id, "\x03")
        await client.read_until(session_id, "^C\r\n\x1b[?2004h" + PROMPT, timeout=20)


@pytest.mark.parametrize("webpty_config", [SMALL])
async def test_output_messages_are_at_most_half_the_window(
    connect: Any, jp_serverapp: Any, webpty_config: Any
) -> None:
    """Two messages fit in the window, so acks arrive while the server still sends
    (messages as large as the window made it wait for each ack: issue 16)."""
    async with connect() as client:
        reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
        session_id = reply["session_id"]
        await client.send(session_id, "yes\n")
        term = client.terminal(session_id)
        await wait_until(lambda: term.offset > 4 * 1024 * 1024, 30, "4 MiB of output")
        await client.send(session_id, "\x03")
        await client.read_until(session_id, "^C\r\n\x1b[?2004h" + PROMPT, timeout=20)
    assert 0 < term.largest <= SMALL["flow_high_water"] // 2


async def test_ctrl_c_stops_a_flood(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, "yes flood-line\n")
        term = client.terminal(session_id)
        await wait_until(lambda: term.offset > 2 * 1024 * 1024, 20, "2 MiB of flood")
        await client.send(session_id, "\x03")
        await client.read_until(session_id, "^C\r\n\x1b[?2004h" + PROMPT, timeout=20)
        await client.send(session_id, "echo alive-$((5*5))\n")
        await client.read_until(session_id, "alive-25")


async def test_flood_does_not_block_other_sessions(connect: Any) -> None:
    async with connect() as flooder, connect() as typist:
        noisy = await flooder.create(name="noisy")
        quiet = await typist.create(name="quiet")
        await flooder.send(noisy, "yes\n")
        await wait_until(lambda: flooder.terminal(noisy).offset > 1024 * 1024, 20, "flood")
        for n in range(20):
            await typist.send(quiet, f"echo q-$(({n}+1000))\n")
            await typist.read_until(quiet, f"q-{n + 1000}", timeout=5)
        await flooder.send(noisy, "\x03")
        await flooder.read_until(noisy, "^C", timeout=20)


@pytest.mark.parametrize("webpty_config", [SMALL])
async def test_detached_flood_is_retained_within_bound_and_not_blocked(
    connect: Any, jp_serverapp: Any, webpty_config: Any
) -> None:
    manager = manager_of(jp_serverapp)
    async with connect() as client:
        session_id = await client.create(name="detached")
        await client.send(session_id, "yes\n")
        # The flood reached this client: its input was sent before the disconnect (the client
        # library drops packets still queued when it closes; the prompt alone made offset > 0).
        await client.read_until(session_id, "y\r\ny\r\n")
    [session] = list(manager._sessions.values())
    start = session.end
    # Nobody is attached: the shell is not blocked and old output falls off the buffer.
    await wait_until(lambda: session.end > start + 4 * 256 * 1024, 20, "output keeps flowing")
    assert session.retained_bytes <= 256 * 1024 + 64 * 1024
    async with connect() as again:
        reply = await again.reconnect(name="detached", offset=0)
        assert reply["truncated"] is True  # offset 0 is long gone
        await again.send(session_id, "\x03")
        await again.read_until(session_id, "^C", timeout=20)


@pytest.mark.parametrize("webpty_config", [SMALL])
async def test_viewer_that_fell_behind_is_resynchronised(
    connect: Any, jp_serverapp: Any, webpty_config: Any
) -> None:
    async with connect() as fast, connect(auto_ack=False) as slow:
        session_id = await fast.create(name="mixed")
        reply = await slow.reconnect(name="mixed", offset=0)
        assert reply["truncated"] is False
        await fast.send(session_id, "yes\n")
        # The fast viewer keeps the PTY going far past what the slow one holds.
        await wait_until(lambda: fast.terminal(session_id).offset > 2 * 1024 * 1024, 20, "flood")
        slow_term = slow.terminal(session_id)
        assert slow_term.offset <= 64 * 1024 + 256 * 1024
        await slow.sio.emit("terminal:ack", {"session_id": session_id, "offset": slow_term.offset})
        await wait_until(lambda: bool(slow_term.resets), 10, "a reset for the slow viewer")
        assert slow_term.resets[0]["offset"] > 256 * 1024
        await fast.send(session_id, "\x03")
        await fast.read_until(session_id, "^C", timeout=20)


@pytest.mark.parametrize("webpty_config", [{"cull_inactive_timeout": 1}])
async def test_idle_detached_sessions_are_culled_attached_ones_kept(
    connect: Any, jp_serverapp: Any, webpty_config: Any
) -> None:
    manager = manager_of(jp_serverapp)
    async with connect() as keeper:
        kept = await keeper.create(name="kept")
        async with connect() as leaver:
            await leaver.create(name="left")
        await wait_until(lambda: len(manager) == 1, 15, "the detached session culled")
        listing = await keeper.call("terminal:list")
        assert [s["session_id"] for s in listing["sessions"]] == [kept]
        await keeper.send(kept, "echo still-$((9*9))\n")
        await keeper.read_until(kept, "still-81")


async def test_terminal_activity_counts_as_server_activity(connect: Any, jp_serverapp: Any) -> None:
    web_app = jp_serverapp.web_app
    async with connect() as client:
        session_id = await client.create()
        first = web_app.settings["webpty_last_activity"]
        await wait_until(lambda: web_app.last_activity() >= first, 5)
        await client.send(session_id, "sleep 1.1; echo later-$((2*3))\n")
        await client.read_until(session_id, "later-6")
        await wait_until(lambda: web_app.settings["webpty_last_activity"] > first, 5, "activity")
        assert web_app.last_activity() >= web_app.settings["webpty_last_activity"]

"""The widget and the %webterm magic, without a kernel, against a real server's REST API.

The REST client is synchronous (it runs in a kernel), and the server runs on this test's own
event loop, so every call is made from a worker thread.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_webpty import protocol
from jupyter_webpty.api import SessionsClient
from jupyter_webpty.widget import MIME_TYPE, WebTerminal

from .conftest import PROMPT


@pytest.fixture
def shell(rest: SessionsClient, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    monkeypatch.setenv("WEBPTY_SERVER_URL", rest.server.url)
    monkeypatch.setenv("WEBPTY_TOKEN", rest.server.token)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_webpty")
    return ip


def run(ip: InteractiveShell, line: str) -> Any:
    """Run ``%webterm line`` in a thread; return the captured outputs."""

    def call() -> Any:
        with capture_output() as captured:
            ip.run_line_magic("webterm", line)
        return captured

    return asyncio.to_thread(call)


async def test_widget_bundle_names_the_session(rest: SessionsClient) -> None:
    terminal = WebTerminal("build", cwd="sub", height=12, client=rest)
    bundle = terminal._repr_mimebundle_()
    assert bundle is not None
    data = dict(bundle[MIME_TYPE])
    display = data.pop("display")
    assert data == {"session": "build", "height": 12, "cwd": "sub"}
    # Each display gets its own key (the browser remembers its session id under it).
    again = terminal._repr_mimebundle_()
    assert again is not None
    assert re.fullmatch(r"[0-9a-f]{16}", display)
    assert again[MIME_TYPE]["display"] != display
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert terminal.get_state()["session"] == "build"
    with pytest.raises(ValueError, match="height"):
        WebTerminal("x", height=protocol.MAX_SIZE + 1, client=rest)
    assert WebTerminal("x", height=protocol.MAX_SIZE, client=rest).height == protocol.MAX_SIZE
    assert WebTerminal("x", height=protocol.MIN_SIZE, client=rest).height == protocol.MIN_SIZE
    with pytest.raises(ValueError, match="name"):
        WebTerminal("   ", client=rest)


async def test_send_types_into_the_shell_and_close_ends_it(
    rest: SessionsClient, connect: Any
) -> None:
    terminal = WebTerminal("py", client=rest)
    await asyncio.to_thread(terminal.send, "export WEBPTY_PY=$((40+2))\n")
    info = await asyncio.to_thread(terminal.info)
    assert info is not None
    async with connect() as client:
        reply = await client.reconnect(name="py")
        assert reply["success"]
        await client.send(reply["session_id"], "echo got-$WEBPTY_PY\n")
        await client.read_until(reply["session_id"], "got-42")
    await asyncio.to_thread(terminal.close)
    assert await asyncio.to_thread(terminal.info) is None


async def test_magic_shows_lists_and_closes(shell: InteractiveShell, rest: SessionsClient) -> None:
    captured = await run(shell, "demo --height 15")
    [output] = captured.outputs
    assert output.data[MIME_TYPE]["session"] == "demo"
    # The browser creates the session on attach; here we create it over REST as it would.
    await asyncio.to_thread(rest.ensure, "demo")
    listing = await run(shell, "list")
    assert "demo" in listing.outputs[0].data["text/plain"]
    closed = await run(shell, "close demo")
    assert "Closed terminal session 'demo'" in closed.stdout
    assert await asyncio.to_thread(rest.find, "demo") is None
    empty = await run(shell, "list")
    assert "No terminal sessions" in empty.stdout


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--height 0", "height"),
        ("--height x", "invalid int"),
        ("--bogus", "unrecognized"),
        ("a b", "one session name"),
        ("close", "usage"),
        ("close nothing-here", "no terminal session"),
        ("list extra", "usage"),
        ("demo --cwd /etc", "outside"),
    ],
)
async def test_magic_errors_are_usage_messages(
    shell: InteractiveShell, line: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        await run(shell, line)


async def test_kernel_side_session_survives_a_new_shell(rest: SessionsClient, connect: Any) -> None:
    # A "kernel restart" is a new process with a new client: the shell on the server is the same.
    await asyncio.to_thread(SessionsClient(rest.server).send, "keep", "cd /tmp && export K=v1\n")
    again = SessionsClient(rest.server)
    await asyncio.to_thread(again.send, "keep", "echo $K-$PWD-$((1+1))\n")
    async with connect() as client:
        reply = await client.reconnect(name="keep")
        await client.read_until(reply["session_id"], "v1-/tmp-2")
        assert PROMPT in client.terminal(reply["session_id"]).text

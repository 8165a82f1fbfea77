"""``shell_command`` as operators write it on the command line (issue 11, item 12).

traitlets turned ``--WebPtyApp.shell_command='["/bin/sh","-l"]'`` into a one-element command
("command not found" on every create) and a single ``--WebPtyApp.shell_command=/bin/zsh`` into
the default. The server under test parses these argv itself (pytest-jupyter's ``jp_argv``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_webpty.shell_command import parse_command

SH = "/bin/sh"
FORMS = {
    "json-list": ('["/bin/sh","-c","echo json-$((6*7)); exec cat"]', "json-42"),
    "shell-string": ("/bin/sh -c 'echo split-$((6*7)); exec cat'", "split-42"),
    "one-word": ("cat", None),
}


@pytest.fixture(params=list(FORMS))
def form(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return FORMS[request.param]


@pytest.fixture
def jp_argv(form: tuple[str, str | None]) -> list[str]:
    return [f"--WebPtyApp.shell_command={form[0]}"]


async def test_command_line_forms_start_that_command(
    form: tuple[str, str | None], connect: Any, jp_serverapp: Any
) -> None:
    manager = jp_serverapp.web_app.settings["webpty_manager"]
    text, greeting = form
    expected = parse_command(text)
    assert manager.argv == expected
    assert expected[0] in (SH, "cat")
    async with connect() as client:
        reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
        assert reply["success"], reply
        session_id = reply["session_id"]
        if greeting is not None:
            await client.read_until(session_id, greeting)
        await client.send(session_id, "typed-back\r")  # cat echoes every line
        await client.read_until(session_id, "typed-back")


def test_parse_command_accepts_lists_json_and_strings() -> None:
    assert parse_command(["/bin/sh", "-l"]) == ["/bin/sh", "-l"]
    assert parse_command(['["/bin/sh", "-l"]']) == ["/bin/sh", "-l"]  # traitlets' List on a CLI
    assert parse_command('/bin/sh -c "echo a b"') == ["/bin/sh", "-c", "echo a b"]
    for bad, reason in [
        ("", "empty"),
        ("[1, 2]", "JSON list of strings"),
        ('["/bin/sh",', "not a JSON list"),
        ("/bin/sh -c 'unclosed", "split"),
        ("/no/such/shell -l", "not an executable"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_command(bad)


def test_a_missing_program_stops_the_server_at_startup(tmp_path: Path) -> None:
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "jupyter", "server", "--allow-root", "--no-browser",
            "--ip", "127.0.0.1", "--port", "0", f"--ServerApp.root_dir={tmp_path}",
            "--ServerApp.jpserver_extensions=jupyter_webpty=True",
            "--WebPtyApp.shell_command=/no/such/shell -l"]  # fmt: skip
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        code = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = (tmp_path / "server.log").read_text(errors="replace")
    assert code != 0, output[-2000:]
    assert "/no/such/shell" in output
    assert "shell_command" in output

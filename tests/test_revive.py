"""Revival: a real server stopped (SIGTERM) or killed (SIGKILL) and started again on the same
directories brings back each session it had as a new shell, with its id, name, size, cwd and
screen; closed and exited sessions, and everything with ``revive_sessions`` off, stay gone.
"""

from __future__ import annotations

import contextlib
import json
import signal
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PROMPT, Client, wait_until
from .probes import USERS, TwoUsers
from .test_lifecycle import RealServer

RESTORED = "restored after restart"


class TwoUsersAndProbes(TwoUsers):
    """``TwoUsers``, and the readiness probe's ``?token=`` (the server's own token) is alice."""

    def _name(self, handler: Any) -> str | None:
        token = handler.get_argument("token", "")
        return super()._name(handler) or ("alice" if token and token not in USERS else None)


def revival_dirs(data: Path) -> list[Path]:
    """The per-root directories the server saved sessions in, under the data dir ``data``."""
    return sorted((data / "webpty" / "sessions").glob("*"))


def saved_files(data: Path) -> dict[str, Path]:
    """The saved sessions' files by name (``<id>.json``, ``<id>.log``)."""
    return {p.name: p for d in revival_dirs(data) for p in d.glob("*.*") if p.suffix != ".tmp"}


def configure(tmp_path: Path, **sections: dict[str, Any]) -> None:
    """Change the real server's config file (read at its next start)."""
    config = tmp_path / "jupyter_server_config.json"
    settings = json.loads(config.read_text())
    for section, values in sections.items():
        settings[section].update(values)
    config.write_text(json.dumps(settings))


@contextlib.asynccontextmanager
async def real_server(
    tmp_path: Path, *, server_app: dict[str, Any] | None = None, **webpty: Any
) -> AsyncIterator[tuple[RealServer, Path]]:
    """A real server started with ``webpty`` traits (and ``server_app`` ones), and the data
    directory it saves sessions under; its clients closed and the server killed at the end."""
    real = RealServer(tmp_path, **webpty)
    data = tmp_path / "data"
    real.env["JUPYTER_DATA_DIR"] = str(data)
    if server_app:
        configure(tmp_path, ServerApp=server_app)
    await real.start()
    try:
        yield real, data
    finally:
        await real.close_clients()
        real.kill()


async def stop(real: RealServer, how: signal.Signals) -> None:
    assert real.process is not None
    real.process.send_signal(how)
    await wait_until(lambda: real.process is not None and real.process.poll() is not None, 30)
    await real.close_clients()


async def listed(client: Client) -> list[dict[str, Any]]:
    reply = await client.call("terminal:list", {})
    assert reply["success"], reply
    return list(reply["sessions"])


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_a_session_is_revived_with_its_id_name_size_cwd_and_screen(
    tmp_path: Path, how: signal.Signals
) -> None:
    (tmp_path / "sub").mkdir()
    async with real_server(tmp_path) as (real, data):
        client = await real.client()
        kept = await client.create(cols=100, rows=30, name="keep", cwd="sub")
        closed = await client.create(name="closed")
        await client.send(kept, "mkdir deeper && cd deeper && echo before-$((6*7))\n")
        await client.read_until(kept, f"before-42\r\n\x1b[?2004h{PROMPT}")
        # The output reaches the disk within the write interval (what a SIGKILL may lose).
        await wait_until(lambda: f"{kept}.log" in saved_files(data), what="the log written")
        log = saved_files(data)[f"{kept}.log"]
        await wait_until(lambda: log.read_bytes().endswith(PROMPT.encode()))
        meta = saved_files(data)[f"{kept}.json"]
        await wait_until(lambda: json.loads(meta.read_text())["cwd"].endswith("deeper"))
        # Private: the directory 0700, every file 0600.
        [directory] = revival_dirs(data)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for path in saved_files(data).values():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        # Closed by the user: its files go at once, and it is never revived.
        assert (await client.call("terminal:close", {"session_id": closed}))["success"]
        await wait_until(lambda: f"{closed}.json" not in saved_files(data), what="files gone")
        offset = client.terminal(kept).offset

        await stop(real, how)
        await real.start()

        again = await real.client()
        [session] = await listed(again)
        assert (session["session_id"], session["name"]) == (kept, "keep")
        assert (session["cols"], session["rows"]) == (100, 30)
        assert session["cwd"] == str(tmp_path / "sub" / "deeper")
        # A new viewer gets the old screen, then the restored line, then the new shell.
        reply = await again.reconnect(session_id=kept)
        assert reply["success"], reply
        assert reply["truncated"], reply
        text = await again.read_until(kept, PROMPT)
        await again.read_until(kept, RESTORED)
        text = await again.read_until(kept, PROMPT)
        assert text.index("before-42") < text.index(RESTORED) < text.rindex(PROMPT)
        await again.send(kept, "pwd\n")
        await again.read_until(kept, f"{tmp_path}/sub/deeper\r\n")
        # A tab that was open through a clean restart resumes from its offset: nothing lost,
        # nothing repeated, the restored line next. After a crash the last write may be lost,
        # so every old offset gets a screen restore instead (offsets shifted, protocol.md).
        tab = await real.client()
        reply = await tab.reconnect(session_id=kept, offset=offset)
        assert reply["success"], reply
        assert reply["truncated"] == (how == signal.SIGKILL), reply
        if how == signal.SIGTERM:
            assert reply["offset"] == offset
        text = await tab.read_until(kept, "sub/deeper\r\n")
        assert RESTORED in text
        # Resumed: only what came after its offset; restored: the old screen again.
        assert ("before-42" in text) == (how == signal.SIGKILL)
        # Closed now: its files go.
        assert (await again.call("terminal:close", {"session_id": kept}))["success"]
        await wait_until(lambda: saved_files(data) == {}, what="files removed on close")


async def test_a_shell_that_exits_by_itself_is_not_revived(tmp_path: Path) -> None:
    async with real_server(tmp_path) as (real, data):
        client = await real.client()
        gone = await client.create(name="gone")
        stays = await client.create(name="stays")
        await client.send(gone, "exit 3\n")
        assert await client.wait_exit(gone) == 3
        await wait_until(lambda: f"{gone}.json" not in saved_files(data), what="files gone")
        assert f"{stays}.json" in saved_files(data)
        await stop(real, signal.SIGTERM)
        await real.start()
        assert [s["name"] for s in await listed(await real.client())] == ["stays"]


async def test_with_revival_off_nothing_is_written_and_nothing_revived(tmp_path: Path) -> None:
    # First on: something is saved. Then off: it is deleted, and nothing new is written.
    async with real_server(tmp_path) as (real, data):
        client = await real.client()
        await client.create(name="saved-then-deleted")
        await wait_until(lambda: bool(saved_files(data)), what="saved")
        await stop(real, signal.SIGTERM)
        configure(tmp_path, ServerApp={}, WebPtyApp={"revive_sessions": False})
        await real.start()
        client = await real.client()
        assert await listed(client) == []
        assert saved_files(data) == {}
        session = await client.create(name="unsaved")
        await client.send(session, "echo unsaved-$((6*7))\n")
        await client.read_until(session, "unsaved-42")
        await stop(real, signal.SIGKILL)
        assert saved_files(data) == {}
        await real.start()
        assert await listed(await real.client()) == []


async def test_the_saved_output_stays_bounded_under_a_flood(tmp_path: Path) -> None:
    bound = 64 * 1024
    async with real_server(tmp_path, scrollback_bytes=bound) as (real, data):
        client = await real.client()
        session = await client.create()
        # About 8 MiB, then a marker computed by the shell (not in the echoed command line).
        await client.send(session, "seq 1 1000000; echo flood-$((6*7))\n")
        await client.read_until(session, "flood-42", timeout=60)
        await wait_until(lambda: f"{session}.log" in saved_files(data), what="the log written")
        log = saved_files(data)[f"{session}.log"]
        await wait_until(lambda: b"flood-42" in log.read_bytes(), what="the end on disk")
        assert log.stat().st_size <= 2 * bound + 64
        await stop(real, signal.SIGKILL)
        await real.start()
        again = await real.client()
        await again.reconnect(session_id=session)
        text = await again.read_until(session, RESTORED)
        assert "999999\r\n1000000\r\n" in text
        assert "flood-42" in text


async def test_a_revived_session_keeps_its_owner(tmp_path: Path) -> None:
    users = {"identity_provider_class": "tests.test_revive.TwoUsersAndProbes"}
    async with real_server(tmp_path, server_app=users) as (real, _):
        url, path = real.url, "/webpty/socket.io"
        alice = await Client(url, path, {"Authorization": "token alice-token"}).connect()
        real.clients.append(alice)
        mine = await alice.create(name="alice-shell")
        await stop(real, signal.SIGTERM)
        await real.start()
        bob = await Client(url, path, {"Authorization": "token bob-token"}).connect()
        alice = await Client(url, path, {"Authorization": "token alice-token"}).connect()
        real.clients += [bob, alice]
        assert await listed(bob) == []
        assert not (await bob.reconnect(session_id=mine))["success"]
        assert [s["session_id"] for s in await listed(alice)] == [mine]

"""Protocol round trips with a real Socket.IO client against a real jupyter-server."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jupyter_webpty import protocol

from .conftest import PROMPT, wait_until


async def test_create_echo_list_close(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create(name="main")
        await client.send(session_id, "echo hello-$((6*7))\n")
        await client.read_until(session_id, "hello-42")
        listing = await client.call("terminal:list", {})
        assert listing["success"]
        [info] = listing["sessions"]
        assert info["session_id"] == session_id
        assert info["name"] == "main"
        assert info["clients"] == 1
        assert {"created_at", "last_activity", "cwd", "cols", "rows", "command"} <= set(info)
        assert await client.call("terminal:close", {"session_id": session_id}) == {"success": True}
        assert (await client.call("terminal:list", {}))["sessions"] == []


async def test_resize_sets_pty_size(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create(cols=100, rows=30)
        await client.send(session_id, "stty size\n")
        await client.read_until(session_id, "30 100")
        await client.sio.emit(
            "terminal:resize", {"session_id": session_id, "cols": 132, "rows": 43}
        )
        await client.send(session_id, "stty size\n")
        await client.read_until(session_id, "43 132")
        listing = await client.call("terminal:list")
        assert (listing["sessions"][0]["cols"], listing["sessions"][0]["rows"]) == (132, 43)


async def test_exit_code_reaches_client(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, "exit 7\n")
        assert await client.wait_exit(session_id) == 7
        assert (await client.call("terminal:list"))["sessions"] == []


async def test_multibyte_output_split_across_reads_is_exact(connect: Any, tmp_path: Any) -> None:
    # 3- and 4-byte characters at every alignment over ~600 KB: reads of ~4 KiB split many.
    text = ("añ€😀字" * 7 + "\n") * 4000
    (tmp_path / "utf8.txt").write_text(text, encoding="utf-8")
    async with connect() as client:
        session_id = await client.create(cwd=None)
        await client.send(session_id, f"stty -onlcr; cat {tmp_path}/utf8.txt; echo END-MARK\n")
        await client.read_until(session_id, "END-MARK\n", timeout=30)
        raw = bytes(client.terminal(session_id).data)
        start = raw.index("añ€".encode())
        body = raw[start : start + len(text.encode())]
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(text.encode()).hexdigest()


async def test_output_as_text_when_asked(connect: Any) -> None:
    # "text": true: a small chunk that is valid UTF-8 comes as a string, in byte offsets; one
    # that is not UTF-8, or larger than MAX_TEXT_OUTPUT_BYTES, comes as bytes.
    async with connect() as client, connect() as plain:
        session_id = await client.create(text=True)
        term = client.terminal(session_id)
        await client.send(session_id, "echo h\u00e9-$((6*7))\n")
        await client.read_until(session_id, "h\u00e9-42")
        assert term.as_text > 0
        assert term.largest == term.largest_text  # nothing came as bytes yet

        await client.send(session_id, "printf 'A\\377B\\n'\n")  # output not UTF-8 on its own
        await wait_until(lambda: b"A\xffB" in term.data, what="the non-UTF-8 line")
        await client.send(
            session_id, "head -c 3000000 /dev/zero | tr '\\0' y; echo; echo END-$((6*7))\n"
        )
        await client.read_until(session_id, "END-42", timeout=30)
        assert term.largest > protocol.MAX_TEXT_OUTPUT_BYTES  # the flood's chunks: bytes
        assert term.largest_text <= protocol.MAX_TEXT_OUTPUT_BYTES
        assert bytes(term.data).count(b"y") >= 3_000_000  # byte offsets held throughout

        # A reconnect asks again; without "text" every chunk is bytes, as before.
        reply = await plain.reconnect(session_id=session_id)
        assert reply["success"], reply
        await plain.send(session_id, "echo plain-$((6*7))\n")
        await plain.read_until(session_id, "plain-42")
        assert plain.terminal(session_id).as_text == 0
        refused = await plain.call("terminal:reconnect", {"session_id": session_id, "text": 1})
        assert refused == {"success": False, "error": "'text' must be true or false, got int"}


async def test_input_before_prompt_and_prompt_seen(connect: Any) -> None:
    async with connect() as client:
        reply = await client.call("terminal:create", {"cols": 80, "rows": 24})
        session_id = reply["session_id"]
        client.terminal(session_id)
        await client.send(session_id, "echo early-$((1+1))\n")  # typed before any output
        await client.read_until(session_id, "early-2\r\n")
        assert PROMPT in client.terminal(session_id).text


async def test_rename_over_socket_and_rest(connect: Any, jp_fetch: Any) -> None:
    async with connect() as client:
        first = await client.create(name="one")
        await client.create(name="two")
        changes = client.changes
        reply = await client.call("terminal:rename", {"session_id": first, "name": "uno"})
        assert reply == {"success": True, "session_id": first, "name": "uno"}
        taken = await client.call("terminal:rename", {"session_id": first, "name": "two"})
        assert taken == {"success": False, "error": "a terminal session named 'two' already exists"}
        bad = await client.call("terminal:rename", {"session_id": first, "name": ""})
        assert bad["success"] is False
        response = await jp_fetch(
            "webpty", "api", "sessions", first, method="PATCH", body=json.dumps({"name": "eins"})
        )
        assert json.loads(response.body)["name"] == "eins"
        names = sorted(s["name"] for s in (await client.call("terminal:list"))["sessions"])
        assert names == ["eins", "two"]
        await wait_until(lambda: client.changes > changes, 5, "terminal:changed")


async def test_keystrokes_keep_their_order_across_both_paths(connect: Any) -> None:
    # Input, resize and ack sent as plain events take the server's hot path; events with an
    # ack id (and every other event) take python-socketio's. 1500 one-character events sent
    # back to back, with resizes and calls in between, must arrive as typed.
    digits = "".join(str(i % 10) for i in range(1500))
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, "echo got-$((6*7))-")
        for i, char in enumerate(digits):
            await client.send(session_id, char)
            if i % 300 == 0:
                size = {"session_id": session_id, "cols": 80 + i // 300, "rows": 24}
                await client.sio.emit("terminal:resize", size)
                assert (await client.call("terminal:list"))["success"]
        reply = await client.call("terminal:input", {"session_id": session_id, "data": "-end\n"})
        assert reply is None  # handled; input has no reply payload
        await client.read_until(session_id, f"got-42-{digits}-end\r\n", timeout=30)

"""Hostile input: property-based fuzzing of every client event, oversize frames, big pastes.

How hypothesis meets pytest-jupyter: pytest-jupyter runs ``async def`` tests itself, and
hypothesis's ``@given`` wraps a sync function, so the two do not compose. The fuzz test is
therefore a plain sync test. Server and client both live on ``jp_asyncio_loop``, which only
runs inside ``run_until_complete``; the test drives every step (setup, each example, the final
check) through ``loop.run_until_complete(...)`` and nothing needs to run in between. The
``@given`` function is defined inside the test, so all examples share one connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import operator
import re
import reprlib
import traceback
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from socketio import packet

from jupyter_webpty import protocol

from .conftest import Client, wait_until

# Every event the protocol defines is fuzzed; `expected` must know each (checked below).
KNOWN = protocol.CLIENT_EVENTS
ORACLE = ("terminal:create", "terminal:input", "terminal:resize", "terminal:close",
          "terminal:list", "terminal:reconnect", "terminal:detach", "terminal:ack",
          "terminal:rename")  # fmt: skip
WITNESS = "witness-7f3a"  # the name of the session that must keep working throughout
NO_ACK = ("terminal:input", "terminal:resize", "terminal:ack")
# Names python-socketio dispatches to the server's own connection handlers; they have their
# own test below (test_reserved_event_names_are_refused).
RESERVED = ("connect", "disconnect", "*")
MAX_FRAME = 1_000_000  # protocol.MAX_MESSAGE_BYTES, spelled out: the test states the contract
RAW_CAT = "stty raw -echo; echo RE''ADY; exec cat > {}\n"  # keys reach cat, never the shell

Strategy = st.SearchStrategy[Any]
SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATES = st.text(st.characters(categories=["Cs", "Ll"]), min_size=1, max_size=8)
LONG = st.builds(
    operator.mul,
    st.sampled_from(["a", "é", "\x00", "😀", "\ud800"]),
    st.sampled_from([129, 4097, 65536, 65537, 70000]),  # 70000 x 12 bytes still < 1 MB
)
# python-engineio drops unanswered a message with an integer literal over 100 characters; that
# has its own test (test_huge_integer_literal_gets_an_answer). Here literals stay within 100.
BIG = 10**99 - 1  # with a minus sign still 100 characters
# No bytes: a binary event closes the connection (tests/test_hostile.py).
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-BIG, BIG), st.sampled_from([2**63, -(2**70), BIG]),
    st.floats(), st.text(max_size=20), SURROGATES,
)  # fmt: skip
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
EDGES = st.sampled_from([0, -1, 1001, 2**62, 80.0, 1.0, True, False, "80", None])
SIZE = st.one_of(st.integers(1, 1000), EDGES, JUNK)
OFFSET = st.one_of(st.integers(0, 2**62), st.sampled_from([-1, 2**62 + 1, BIG, 1.0, True]), JUNK)
TEXT = st.one_of(st.text(max_size=40), LONG, SURROGATES, JUNK)


def fields(event: str, target: str) -> dict[str, tuple[Strategy, Strategy]]:
    """Per field of ``event``: (valid values, any values)."""
    size = (st.integers(1, 1000), SIZE)
    ref = (st.just(target), st.one_of(st.just(target), st.text(max_size=140), LONG, JUNK))
    name = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8)
    cwd = st.sampled_from([None, "", ".", "sub"])
    bad_cwd = st.one_of(st.sampled_from(["..", "/", "/etc", "~", "nope", "a\x00b"]), TEXT)
    offset = (st.integers(0, 2**62), OFFSET)
    return {
        "terminal:create": {"cols": size, "rows": size, "name": (st.none() | name, TEXT),
                            "cwd": (cwd, cwd | bad_cwd)},
        "terminal:input": {"session_id": ref, "data": (st.text(max_size=100), TEXT)},
        "terminal:resize": {"session_id": ref, "cols": size, "rows": size},
        "terminal:close": {"session_id": (st.text(max_size=30), st.one_of(LONG, JUNK))},
        "terminal:list": {},
        "terminal:reconnect": {"session_id": (st.none() | st.just(target), ref[1]),
                               "name": (st.none() | st.sampled_from(["target", "t2"]), TEXT),
                               "offset": (st.none() | offset[0], OFFSET), "cols": size,
                               "rows": size},
        "terminal:detach": {"session_id": ref},
        "terminal:ack": {"session_id": ref, "offset": offset},
        "terminal:rename": {"session_id": ref,
                            "name": (st.sampled_from(["target", "t2", WITNESS]) | name, TEXT)},
    }.get(event, {})  # fmt: skip


def payloads(event: str, target: str) -> Strategy:
    """Valid payloads, valid ones with one field spoilt, random shapes, junk, several args."""
    spec = fields(event, target)
    valid = st.fixed_dictionaries({key: pair[0] for key, pair in spec.items()})
    # One field replaced by a value from that field's own edge cases or junk.
    spoil = st.sampled_from(list(spec) or [""]).flatmap(
        lambda key: st.tuples(st.just(key), spec[key][1] if key else JUNK)
    )
    spoilt = st.builds(lambda d, kv: {**d, kv[0]: kv[1]}, valid, spoil)
    extra = st.dictionaries(st.sampled_from(["user_id", "owner", "x"]), JUNK, max_size=2)
    shapes = st.fixed_dictionaries({}, optional={key: pair[1] for key, pair in spec.items()})
    shaped = st.builds(operator.or_, extra, shapes)
    # Drawn by weight: st.one_of leaves the share of each branch to hypothesis's heuristics.
    mix = [valid] * 3 + [spoilt] * 2 + [shaped] * 2 + [JUNK, st.tuples(JUNK, JUNK)]
    return st.sampled_from(mix).flatmap(lambda strategy: strategy)


def frame_bytes(event: str, payload: Any) -> int:
    """Bytes on the wire for ``emit(event, payload)``: Engine.IO "4" + the Socket.IO packet(s)."""
    args = list(payload) if isinstance(payload, tuple) else [] if payload is None else [payload]
    encoded = packet.Packet(packet.EVENT, data=[event, *args]).encode()
    parts = encoded if isinstance(encoded, list) else [encoded]
    return sum(1 + len(part) for part in parts)


def cases(target: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(event, payload) pairs over the known events and unknown names, each under 1 MB (a
    bigger frame closes the connection: test_oversize_frame_closes_only_that_connection)."""
    unknown = st.text(max_size=30).filter(lambda e: e not in KNOWN + RESERVED)
    # One case in five is an unknown event (one_of would draw half of them from that branch).
    event = st.sampled_from((*KNOWN, "", "")).flatmap(lambda e: st.just(e) if e else unknown)
    pairs = event.flatmap(lambda e: st.tuples(st.just(e), payloads(e, target)))
    return pairs.filter(lambda case: frame_bytes(*case) <= MAX_FRAME)


def received(payload: Any) -> Any:
    """What the handler gets: python-socketio sends a tuple as several arguments (the transport
    then sees a list), None as no argument (None again) and anything else as one."""
    return list(payload) if isinstance(payload, tuple) else payload


def text(value: Any, limit: int) -> bool:
    """A string of at most ``limit`` characters that is valid Unicode (no lone surrogates)."""
    return isinstance(value, str) and len(value) <= limit and not SURROGATE.search(value)


def size(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 1000


def expected(event: str, data: Any, state: dict[str, Any]) -> bool | None:
    """Whether the contract says ``event`` succeeds (None: it may; checked otherwise)."""
    if event not in KNOWN:
        return False
    if event == "terminal:list":
        return data is None or isinstance(data, dict)
    if not isinstance(data, dict):
        return False
    get = data.get
    session_id, target, attached = get("session_id"), state["target"], state["attached"]
    name, taken = get("name"), (state["name"], WITNESS)
    good_name = text(name, 128) and name.strip() and name.isprintable()
    if event == "terminal:rename":
        return bool(good_name and session_id == target and name not in taken[1:])
    if event == "terminal:create":
        cwd = get("cwd")
        if not (size(get("cols")) and size(get("rows"))) or name in taken:
            return False
        if not (name is None or good_name):
            return False
        return cwd in (None, "", ".", "sub") or (None if text(cwd, 4096) else False)
    if event in ("terminal:input", "terminal:resize", "terminal:ack"):
        valid = {
            "terminal:input": lambda: text(get("data"), 65536),
            "terminal:resize": lambda: size(get("cols")) and size(get("rows")),
            "terminal:ack": lambda: type(get("offset")) is int and 0 <= get("offset") <= 2**62,
        }[event]()
        return bool(valid and session_id == target and attached)
    if event in ("terminal:close", "terminal:detach"):
        return session_id == target
    # terminal:reconnect
    offset, cols, rows = get("offset"), get("cols"), get("rows")
    if session_id is not None and not text(session_id, 128):
        return False
    if name is not None and not good_name:
        return False
    if offset is not None and not (type(offset) is int and 0 <= offset <= 2**62):
        return False
    if (cols, rows) != (None, None) and not (size(cols) and size(rows)):
        return False
    return session_id == target if session_id is not None else name == state["name"]


async def barrier(client: Client) -> None:
    """After two round trips, every error the earlier events caused has arrived."""
    await client.call("terminal:list", {})
    await client.call("terminal:list", {})


async def fuzz_one(client: Client, state: dict[str, Any], event: str, payload: Any) -> None:
    """Send one case; check the answer's shape, the contract's verdict and the side effects."""
    before = len(client.errors)
    want = expected(event, received(payload), state)
    if event in NO_ACK:
        await client.sio.emit(event, payload)
        reply: Any = None
    else:
        reply = await client.sio.call(event, payload, timeout=10)
        assert isinstance(reply, dict), reply
        assert reply["success"] is True or reply["success"] is False, reply
        assert reply["success"] or (isinstance(reply["error"], str) and reply["error"]), reply
    await barrier(client)
    errors = client.errors[before:]
    assert all(isinstance(e["error"], str) and e["error"] for e in errors), errors
    # One terminal:error for a failed ack-less event or an unknown one, none otherwise.
    success = reply["success"] if reply is not None else not errors
    assert len(errors) == (event not in KNOWN or (event in NO_ACK and not success)), errors
    assert want is None or success == want, reprlib.repr((event, payload, reply, errors))
    assert client.sio.connected
    if success and event == "terminal:create":
        listing = (await client.call("terminal:list", {}))["sessions"]
        [info] = [s for s in listing if s["session_id"] == reply["session_id"]]
        assert info["cwd"] == state["root"] or info["cwd"].startswith(state["root"] + "/")
        closed = await client.call("terminal:close", {"session_id": reply["session_id"]})
        assert closed == {"success": True}
    if success and event in ("terminal:detach", "terminal:reconnect"):
        state["attached"] = event == "terminal:reconnect"
    if success and event == "terminal:rename":
        state["name"] = reply["name"]


# Failing cases may hold 70 000-character strings; hypothesis warns about printing them.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_fuzz_every_event(
    jp_asyncio_loop: asyncio.AbstractEventLoop,
    connect: Any,
    jp_root_dir: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert set(KNOWN) <= set(ORACLE), "teach `expected` the new events"
    run = jp_asyncio_loop.run_until_complete
    (jp_root_dir / "sub").mkdir()
    fuzz_cm, witness_cm = connect(), connect()
    fuzz, witness = run(fuzz_cm.__aenter__()), run(witness_cm.__aenter__())
    try:
        target = run(fuzz.create(name="target"))
        run(fuzz.send(target, RAW_CAT.format("/dev/null")))
        run(fuzz.read_until(target, "READY"))
        # Reconnects replay old output, which the recording client would take for a gap.
        fuzz.sio.on("terminal:output", lambda payload: None)
        neighbour = run(witness.create(name=WITNESS))
        root = str(jp_root_dir.resolve())
        state = {"target": target, "name": "target", "attached": True, "root": root}

        # No shrinking: examples share a stateful server and cost round trips, so shrinking
        # takes minutes; the first failing case is reported verbatim instead.
        @settings(
            max_examples=1000,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(cases(target))
        def one(case: tuple[str, Any]) -> None:
            run(fuzz_one(fuzz, state, *case))

        one()
        listing = run(fuzz.call("terminal:list", {}))
        assert target in [s["session_id"] for s in listing["sessions"]]
        run(witness.send(neighbour, "echo alive-$((6*7))\n"))
        run(witness.read_until(neighbour, "alive-42"))
        assert witness.errors == []
    finally:
        run(fuzz_cm.__aexit__(None, None, None))
        run(witness_cm.__aexit__(None, None, None))
    # The transport answers even unexpected exceptions with an error: make those visible.
    ours = ("jupyter_webpty", "socketio", "engineio", "tornado")
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(ours)]
    # With each one's traceback: a failure seen once under load must say where it came from.
    assert failures == [], [
        r.getMessage() + "\n" + "".join(traceback.format_exception(*r.exc_info))
        if r.exc_info and r.exc_info[0]
        else r.getMessage()
        for r in failures
    ]


async def answer(client: Client, event: str, payload: Any) -> Any:
    """The ack of ``event``, or "no answer" after 2 s."""
    try:
        return await client.sio.call(event, payload, timeout=2)
    except socketio.exceptions.TimeoutError:
        return "no answer"


async def test_reserved_event_names_are_refused(connect: Any) -> None:
    # python-socketio routes a client EVENT named "connect", "disconnect" or "*" to the server
    # handler registered under that name: each must still be just an unknown event.
    async with connect() as client, connect() as other:
        session_id = await client.create()
        for event in RESERVED:
            for payload in (None, "x", {}, "owner:server-owner"):
                reply = await answer(client, event, payload)
                assert isinstance(reply, dict), (event, payload, reply)
                assert reply["success"] is False, (event, payload, reply)
                assert (await client.call("terminal:list", {}))["success"], (event, payload)
        await client.send(session_id, "echo still-$((6*7))\n")
        await client.read_until(session_id, "still-42")
        await barrier(other)
        assert other.errors == []


async def test_unusable_cwd_is_a_clean_refusal(
    connect: Any, jp_fetch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the fuzz test: a NUL byte made path resolution raise a bare ValueError.
    async with connect() as client:
        reply = await client.call("terminal:create", {"cols": 80, "rows": 24, "cwd": "a\x00b"})
        assert reply["success"] is False
    body = json.dumps({"cwd": "a\x00b"})
    rest = await jp_fetch("webpty/api/sessions", method="POST", body=body, raise_error=False)
    assert 400 <= rest.code < 500, rest.body
    server = ("jupyter_webpty", "tornado", "ServerApp")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(server)]
    assert [r.getMessage() for r in errors] == []


async def test_huge_integer_literal_gets_an_answer(connect: Any) -> None:
    # python-engineio's JSON refuses integer literals over 100 digits (a DoS guard) and drops
    # the whole message: the contract still promises an answer to every request.
    async with connect() as client:
        for payload in ({"cols": 10**100, "rows": 24}, [10**100, "x"]):
            reply = await answer(client, "terminal:create", payload)
            assert isinstance(reply, dict), (payload, reply)
            assert reply["success"] is False
        assert (await client.call("terminal:list", {}))["success"]


async def test_oversize_frame_closes_only_that_connection(connect: Any) -> None:
    async with connect() as big, connect() as other:
        mine, theirs = await big.create(name="big"), await other.create(name="other")
        fill = MAX_FRAME - frame_bytes("terminal:input", {"session_id": mine, "data": ""})
        assert frame_bytes("terminal:input", {"session_id": mine, "data": "a" * fill}) == MAX_FRAME
        await big.send(mine, "a" * fill)  # at the limit: an ordinary protocol error
        await barrier(big)
        assert "65536" in big.errors[-1]["error"]
        closed = asyncio.Event()
        big.sio.on("disconnect", lambda *reason: closed.set())
        http = big.sio.eio.http
        await big.send(mine, "a" * (fill + 1))  # one byte over: Engine.IO drops the connection
        await asyncio.wait_for(closed.wait(), 10)
        await http.close()  # python-engineio forgets, unclosed, its session on a hang-up
        await other.send(theirs, "echo fine-$((6*7))\n")
        await other.read_until(theirs, "fine-42")
        # The dropped connection's session was only detached; it is still there to resume.
        listing = {s["name"]: s for s in (await other.call("terminal:list", {}))["sessions"]}
        assert listing["big"]["clients"] == 0
        reply = await other.call("terminal:reconnect", {"name": "big"})
        assert reply["success"]
        assert reply["session_id"] == mine


async def test_input_limit_is_clear(connect: Any) -> None:
    async with connect() as client:
        session_id = await client.create()
        await client.send(session_id, RAW_CAT.format("/dev/null"))
        await client.read_until(session_id, "READY")
        await client.send(session_id, "a" * 65536)
        await barrier(client)
        assert client.errors == []
        await client.send(session_id, "a" * 65537)
        await barrier(client)
        [error] = client.errors
        assert error["session_id"] == session_id
        assert error["error"] == "'data' is longer than 65536 characters"


async def test_big_paste_does_not_stall_other_session(connect: Any, tmp_path: Any) -> None:
    piece, pieces = "x" * 65536, 160  # 10 MiB
    sink = tmp_path / "paste"
    async with connect() as client:
        paste, shell = await client.create(name="paste"), await client.create(name="shell")
        await client.send(paste, RAW_CAT.format(sink))
        await client.read_until(paste, "READY")
        for round_ in range(10):
            for _ in range(pieces // 10):
                await client.send(paste, piece)
            await client.send(shell, f"echo probe-{round_}-$((6*7))\n")
            await client.read_until(shell, f"probe-{round_}-42", timeout=5)
        await wait_until(lambda: sink.stat().st_size >= len(piece) * pieces, 30, "paste done")
        assert sink.stat().st_size == len(piece) * pieces
        assert client.errors == []

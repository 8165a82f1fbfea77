"""The marks parser (OSC 133/633/7) against streams built from known commands, cut anywhere,
and against hostile output; the rule that picks which shells get integration."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_webpty.core.integration import integrate
from jupyter_webpty.core.marks import MAX_OSC, Marks, command_text, plain_text


@dataclass(frozen=True)
class Ran:
    command: str
    output: bytes
    exit_code: int


def _escape(command: str) -> bytes:
    # VS Code's escaping, as the init files do it.
    text = command.replace("\\", "\\\\").replace(";", "\\x3b").replace("\n", "\\x0a")
    return text.encode()


def _stream(runs: list[Ran], st_terminator: bool, noise: bytes) -> bytes:
    end = b"\x1b\\" if st_terminator else b"\x07"
    parts = [noise]
    for run in runs:
        parts += [
            b"\x1b]0;title\x07",  # an OSC of no interest
            b"\x1b]7;file://host/tmp/a%20b" + end,
            b"\x1b]133;A" + end,
            b"\x1b[32m$ \x1b[0m",
            b"\x1b]133;B" + end,
            run.command.encode().replace(b"\n", b"\r\n") + b"\r\n",
            b"\x1b]633;E;" + _escape(run.command) + end,
            b"\x1b]133;C" + end,
            run.output,
            b"\x1b]133;D;" + str(run.exit_code).encode() + end,
            noise,
        ]
    return b"".join(parts)


COMMANDS = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x07\x1b\x9c"),
    max_size=40,
)
OUTPUTS = st.binary(max_size=200).map(lambda b: b.replace(b"\x1b", b"").replace(b"\x9b", b""))
RUNS = st.lists(st.builds(Ran, COMMANDS, OUTPUTS, st.integers(-255, 255)), max_size=6)


def _feed_split(marks: Marks, data: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for start, stop in itertools.pairwise(points):
        marks.feed(data[start:stop], stop)


@settings(max_examples=300, deadline=None)
@given(
    runs=RUNS,
    st_terminator=st.booleans(),
    noise=st.sampled_from([b"", b"\x1b[1mx\x1b[0m", b"plain\r\n", b"\x1b[?2004h"]),
    cuts=st.lists(st.integers(0, 10_000), max_size=30),
)
def test_commands_are_found_however_the_stream_is_cut(
    runs: list[Ran], st_terminator: bool, noise: bytes, cuts: list[int]
) -> None:
    data = _stream(runs, st_terminator, noise)
    marks = Marks()
    _feed_split(marks, data, cuts)
    log = marks.commands()
    assert [(r.command, r.exit_code, r.cwd) for r in log] == [
        (run.command, run.exit_code, "/tmp/a b") for run in runs
    ]
    for record, run in zip(log, runs, strict=True):
        assert record.end is not None
        assert data[record.start : record.end] == run.output
        assert record.duration is not None
        assert record.duration >= 0
    assert marks.running is None
    assert marks.has_prompted == bool(runs)
    assert marks.last_exit_code == (runs[-1].exit_code if runs else None)


def test_a_command_without_an_end_mark_ends_at_the_next_prompt_with_no_code() -> None:
    marks = Marks()
    data = b"\x1b]133;C\x07out\x1b]133;A\x07"
    marks.feed(data, len(data))
    (record,) = marks.commands()
    assert (record.exit_code, data[record.start : record.end]) == (None, b"out")
    assert marks.last_exit_code is None


def test_started_and_finished_are_reported_once_each() -> None:
    events: list[tuple[int, bool]] = []
    marks = Marks(on_command=lambda record, finished: events.append((record.seq, finished)))
    data = b"\x1b]133;C\x07\x1b]133;D;0\x07\x1b]133;D;0\x07\x1b]133;C\x07"
    marks.feed(data, len(data))
    assert events == [(1, False), (1, True), (2, False)]
    assert marks.running is not None


def test_the_log_is_bounded() -> None:
    marks = Marks(max_commands=3)
    data = b"\x1b]133;C\x07\x1b]133;D;0\x07" * 10
    marks.feed(data, len(data))
    assert [r.seq for r in marks.commands()] == [8, 9, 10]


PIECES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([
        b"\x1b", b"\x1b]", b"\x1b]133;", b"\x1b]133;A", b"\x1b]133;C\x07", b"\x1b]133;D;",
        b"\x1b]633;E;", b"\x1b]7;file://", b"\x1b]7;", b"\x07", b"\x1b\\", b"\\x", b"\\x4", b"%",
        b"%zz", b"\xff", b"\xc3", b"\x00", b"/",
    ]),
    st.builds(lambda n: b"\x1b]133;D;" + b"9" * n + b"\x07", st.integers(1, 9000)),
    st.builds(lambda n: b"\x1b]133;D;-" + b"0" * n + b"\x07", st.integers(1, 9000)),
    st.builds(lambda n: b"\x1b]633;E;" + b"x" * n, st.integers(MAX_OSC - 10, MAX_OSC + 10)),
    st.builds(lambda n: b"\x1b]7;file://h/" + b"%" * n + b"\x07", st.integers(1, 5000)),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.lists(PIECES, max_size=10).map(b"".join), min_size=1, max_size=6))
def test_marks_never_raise_and_stay_bounded(chunks: list[bytes]) -> None:
    marks = Marks(max_commands=5)
    end = 0
    for chunk in chunks:
        end += len(chunk)
        marks.feed(chunk, end)
        assert len(marks._tail) <= MAX_OSC + 2
    assert len(marks.commands()) <= 5
    for record in marks.commands():
        assert record.exit_code is None or abs(record.exit_code) < 10**10


def test_an_unterminated_osc_is_dropped_once_too_long() -> None:
    marks = Marks()
    data = b"\x1b]633;E;" + b"x" * (2 * MAX_OSC) + b"\x1b]133;C\x07"
    for at in range(0, len(data), 1000):
        marks.feed(data[at : at + 1000], min(at + 1000, len(data)))
    assert marks.running is not None
    assert marks.running.command is None  # the over-long E mark was skipped, the C found


def test_plain_text_strips_sequences_and_crlf() -> None:
    raw = b"\x1b[1;31mred\x1b[0m\r\n\x1b]0;t\x07x\x1b]8;;u\x1b\\y\x1b(B\x1b=z\r\n"
    assert plain_text(raw) == "red\nxyz\n"
    assert plain_text(raw, keep_escapes=True).startswith("\x1b[1;31mred")
    # zsh's PROMPT_SP after a line without a newline, and after one with.
    assert (
        command_text(b"nonl\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m" + b" " * 79 + b"\r \r") == "nonl"
    )
    assert command_text(b"a\r\n%" + b" " * 79 + b"\r \r") == "a\n"


def test_integration_applies_to_bare_interactive_bash_and_zsh_only() -> None:
    env = {"PATH": "/bin", "ZDOTDIR": "/home/u/.zsh"}
    bash = integrate(["/bin/bash", "-l"], env, "/s")
    assert bash == (
        ["/bin/bash", "--rcfile", "/s/bash/webpty.bash", "-i"],
        {**env, "WEBPTY_BASH_LOGIN": "1"},
    )
    assert integrate(["bash"], {}, "/s") == (["bash", "--rcfile", "/s/bash/webpty.bash", "-i"], {})
    zsh = integrate(["/usr/bin/zsh", "-l"], env, "/s")
    assert zsh == (
        ["/usr/bin/zsh", "-l"],
        {"PATH": "/bin", "ZDOTDIR": "/s/zsh", "WEBPTY_USER_ZDOTDIR": "/home/u/.zsh"},
    )
    for argv in (
        ["bash", "--norc", "--noprofile", "-i"],
        ["bash", "-c", "echo"],
        ["bash", "script.sh"],
        ["zsh", "-f"],
        ["/bin/sh", "-l"],
        ["fish"],
        [],
    ):
        assert integrate(argv, env, "/s") is None, argv

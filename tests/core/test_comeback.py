"""Where an adopted shell's stream goes on (``comeback.adopted_stream``): bytes alone, no shell."""

from __future__ import annotations

from jupyter_webpty.core.comeback import adopted_stream
from jupyter_webpty.core.hostclient import Adopted
from jupyter_webpty.core.revive import CRASH_SHIFT, SavedSession


def shell(*, end: int | None, away: int, tail: bytes) -> Adopted:
    return Adopted(id="s", pid=1, fd=None, meta={}, exit_code=None, end=end, away=away, tail=tail)


def saved(base: int, data: bytes) -> SavedSession:
    return SavedSession("s", "o", "n", None, 80, 24, 0.0, base, data)


def test_after_a_clean_stop_the_stream_goes_on_at_the_saved_end() -> None:
    assert adopted_stream(shell(end=110, away=3, tail=b"new"), saved(100, b"0123456789")) == (
        100,
        b"0123456789new",
    )


def test_without_a_store_the_hosts_record_of_the_offset_says_where() -> None:
    assert adopted_stream(shell(end=500, away=2, tail=b"ab"), None) == (500, b"ab")


def test_after_a_crash_without_a_store_offsets_shift() -> None:
    assert adopted_stream(shell(end=None, away=2, tail=b"ab"), None) == (CRASH_SHIFT, b"ab")


def test_output_the_host_dropped_restarts_the_stream_at_its_tail() -> None:
    # 10 bytes came while no server ran, the host kept the last 4: no resume across the gap.
    base, data = adopted_stream(shell(end=110, away=10, tail=b"WXYZ"), saved(100, b"0123456789"))
    assert (base, data) == (116, b"WXYZ")

"""Giving freed memory back (``heap.py``): real glibc, real RSS."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from jupyter_webpty.core.heap import HeapTrimmer

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


@glibc
def test_the_trimmer_returns_what_was_freed_once_per_interval() -> None:
    trimmer = HeapTrimmer(every=1000)
    assert trimmer.is_active
    # 20 MB of blocks far below the mmap threshold, each followed by a small one that stays: freed,
    # they are free memory in the middle of the heap, which glibc keeps (it trims the top only).
    blocks = [(bytearray(20_000), bytearray(1000)) for _ in range(1000)]
    kept = [small for _, small in blocks]
    del blocks
    before = rss()
    trimmer.output(999)  # not yet due
    assert rss() > before - 5_000_000
    trimmer.output(1)
    assert rss() < before - 10_000_000
    assert kept


def test_a_trimmer_turned_off_does_nothing() -> None:
    trimmer = HeapTrimmer(every=0)
    assert not trimmer.is_active
    trimmer.output(1 << 30)

"""Giving memory that a flood freed back to the system (glibc's ``malloc_trim``; elsewhere a no-op).

A flood makes and frees megabytes of short-lived buffers (reads, messages) beside the retained
output. glibc keeps freed memory for reuse: the main heap shrinks only from its top, and the
retained chunks, freed and replaced in turn, sit all through it. So a fresh server's RSS grew
by about twice the retention window in its first 2 s of ``yes``, although Python held little
more than the window (bench/results/2026-12-02-memory-direct.md). ``malloc_trim(0)`` returns
the free pages of every arena: ~0.5 ms in a flood, a few µs when there is nothing to return,
plus the page faults when the heap grows into those pages again (~50 a MB). Once per
``TRIM_EVERY`` bytes of output, summed over all sessions, that is ~0.15 ms of CPU per MB, about
2 % of what the server spends on a MB of ``cat`` (bench/results/2026-12-02-first-flood.md).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

#: Bytes of output, all sessions together, between two trims.
TRIM_EVERY = 4 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none (musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class HeapTrimmer:
    """Calls ``malloc_trim(0)`` once per ``every`` bytes of output reported to ``output``."""

    __slots__ = ("_due", "_every", "_trim")

    def __init__(self, every: int = TRIM_EVERY) -> None:
        self._every = every
        self._due = every
        self._trim = _malloc_trim() if every > 0 else None

    @property
    def is_active(self) -> bool:
        """Whether trimming happens here (glibc, and not turned off)."""
        return self._trim is not None

    def output(self, size: int) -> None:
        """``size`` bytes of output went through (the hot path: one subtraction)."""
        self._due -= size
        if self._due <= 0:
            self._due = self._every
            if self._trim is not None:
                self._trim(0)


#: One per process: the heap is the process's.
TRIMMER = HeapTrimmer()

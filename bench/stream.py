"""What a client received from one session: byte counts, an optional capture, and waiters.

All three targets feed their output here, so the measuring code is the same for each. A waiter
only sees output that arrives after it was registered, and records the time at which the
client processed the matching chunk.
"""

from __future__ import annotations

import asyncio
import time


class _Waiter:
    """Resolves with the arrival time once its condition holds."""

    def __init__(self) -> None:
        self.future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def feed(self, data: bytes, now: float) -> bool:
        raise NotImplementedError

    async def wait(self, timeout: float) -> float:
        """The arrival time (``time.perf_counter``) of the output that satisfied the waiter."""
        return await asyncio.wait_for(asyncio.shield(self.future), timeout)


class _Needle(_Waiter):
    def __init__(self, needle: bytes) -> None:
        super().__init__()
        self.needle = needle
        self.carry = b""

    def feed(self, data: bytes, now: float) -> bool:
        needle = self.needle
        # Search the chunk itself (C speed), then only the seam with the previous chunk.
        if needle in data or (self.carry and needle in self.carry + data[: len(needle)]):
            self.future.set_result(now)
            return True
        keep = len(needle) - 1
        self.carry = (self.carry + data)[-keep:] if keep else b""
        return False


class _Count(_Waiter):
    def __init__(self, byte: bytes, count: int) -> None:
        super().__init__()
        self.byte = byte
        self.remaining = count

    def feed(self, data: bytes, now: float) -> bool:
        self.remaining -= data.count(self.byte)
        if self.remaining <= 0:
            self.future.set_result(now)
            return True
        return False


class _Total(_Waiter):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.remaining = count

    def feed(self, data: bytes, now: float) -> bool:
        self.remaining -= len(data)
        if self.remaining <= 0:
            self.future.set_result(now)
            return True
        return False


class Output:
    """The output stream of one session as seen by one client."""

    def __init__(self) -> None:
        self.total = 0
        self.last_arrival = 0.0
        self.capture: bytearray | None = None
        self.chunk_sizes: list[int] | None = None
        self._waiters: list[_Waiter] = []

    def feed(self, data: bytes) -> None:
        """Account for one chunk as the client receives it."""
        now = time.perf_counter()
        self.total += len(data)
        self.last_arrival = now
        if self.capture is not None:
            self.capture += data
        if self.chunk_sizes is not None:
            self.chunk_sizes.append(len(data))
        if self._waiters:
            self._waiters = [
                w for w in self._waiters if not w.future.done() and not w.feed(data, now)
            ]

    def expect(self, needle: bytes) -> _Waiter:
        """A waiter for ``needle`` in output that arrives from now on."""
        waiter = _Needle(needle)
        self._waiters.append(waiter)
        return waiter

    def expect_count(self, byte: bytes, count: int = 1) -> _Waiter:
        """A waiter for ``count`` more occurrences of ``byte``."""
        waiter = _Count(byte, count)
        self._waiters.append(waiter)
        return waiter

    def expect_bytes(self, count: int) -> _Waiter:
        """A waiter for ``count`` more bytes of output."""
        waiter = _Total(count)
        self._waiters.append(waiter)
        return waiter

    def start_capture(self, *, chunks: bool = False) -> None:
        """Keep every byte (and the chunk sizes) from now on."""
        self.capture = bytearray()
        self.chunk_sizes = [] if chunks else None

    def stop_capture(self) -> tuple[bytes, list[int]]:
        """Return and drop the capture."""
        data = bytes(self.capture or b"")
        sizes = self.chunk_sizes or []
        self.capture = None
        self.chunk_sizes = None
        return data, sizes

    async def settle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until no output arrived for ``quiet`` seconds (full-screen programs only)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            idle = time.perf_counter() - self.last_arrival
            if idle >= quiet:
                return
            await asyncio.sleep(quiet - idle)

"""Would a PTY reader in a process of its own read a flood faster? ``python -m bench.readerproc``.

``cat FILE`` on a PTY, read two ways, with no server and no network:

* ``thread``: webpty's own ``core/reading.Reader`` on an asyncio loop: the loop reads quiet
  output, a worker thread drains a flood in batches it hands to the loop;
* ``process``: a child Python process reading the PTY master in a tight ``readv`` loop and
  writing each read into a pipe of 1 MiB, which the loop reads in reads of 128 KiB.

In both, the loop thread runs Python for a share of the time (``--busy``: slices of that share
of every 400 µs), as a server's loop does while it sends. The thread way pays the GIL after
each ~4 KiB read; the process way pays a pipe write per read and a second copy. Prints MB/s
and bytes read per round (rounds interleaved; the PTY turns each newline into CRLF, so a
whole file is its size plus its newlines) and the medians. Used by hand for bench/README.md ("Where a
flood's time goes"); not part of ``python -m bench.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_webpty.core import Limits, reading, viewers

LIMIT = viewers.message_limit(Limits().high_water)  # webpty's default, 128 KiB
_PERIOD = 0.0004
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux

#: The child of the ``process`` way: read the PTY master (argv 1), write to the pipe (argv 2).
_READER = r"""
import os, sys
fd, out = int(sys.argv[1]), int(sys.argv[2])
os.set_blocking(fd, True)
view = memoryview(bytearray(65536))
while True:
    try:
        count = os.readv(fd, [view])
    except OSError:  # EIO: every slave fd closed
        break
    if not count:
        break
    os.write(out, view[:count])
"""


def _spawn_cat(path: Path) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("cat", ["cat", str(path)])  # noqa: S606 - a fixed program, no shell
    os.set_blocking(fd, False)
    return pid, fd


def _keep_busy(loop: asyncio.AbstractEventLoop, share: float, stop: threading.Event) -> None:
    """Run Python on ``loop`` for ``share`` of every 400 µs until ``stop``."""

    def tick() -> None:
        if stop.is_set():
            return
        end = time.perf_counter() + share * _PERIOD
        while time.perf_counter() < end:
            pass
        loop.call_later(_PERIOD * (1 - share), tick)

    if share > 0:
        loop.call_soon(tick)


def by_thread(path: Path, share: float) -> tuple[float, int]:
    """MB/s of the ``thread`` way (webpty's own ``Reader``), and the bytes read."""
    pid, fd = _spawn_cat(path)
    loop = asyncio.new_event_loop()
    stop = threading.Event()
    done = loop.create_future()
    got = [0]

    def on_read(data: bytes, eof: bool) -> None:
        got[0] += len(data)
        if eof and not done.done():
            done.set_result(None)

    reader = reading.Reader(fd, loop, on_read, limit=LIMIT, label="readerproc")
    _keep_busy(loop, share, stop)
    start = time.perf_counter()
    reader.resume()
    loop.run_until_complete(done)
    seconds = time.perf_counter() - start
    stop.set()
    loop.run_until_complete(reader.quiesce())  # a drain still in flight ends before the close
    reader.close()
    loop.close()
    os.close(fd)
    os.waitpid(pid, 0)
    return got[0] / seconds / 1e6, got[0]


def by_process(path: Path, share: float) -> tuple[float, int]:
    """MB/s of the ``process`` way, and the bytes read."""
    pid, fd = _spawn_cat(path)
    out_r, out_w = os.pipe()
    fcntl.fcntl(out_w, _F_SETPIPE_SZ, 1 << 20)
    child = subprocess.Popen(
        [sys.executable, "-c", _READER, str(fd), str(out_w)], pass_fds=(fd, out_w)
    )
    os.close(out_w)
    os.close(fd)
    os.set_blocking(out_r, False)
    loop = asyncio.new_event_loop()
    stop = threading.Event()
    done = loop.create_future()
    got = [0]

    def readable() -> None:
        while True:
            try:
                data = os.read(out_r, LIMIT)
            except BlockingIOError:
                return
            if not data:
                loop.remove_reader(out_r)
                if not done.done():
                    done.set_result(None)
                return
            got[0] += len(data)
            if len(data) < LIMIT:
                return

    loop.add_reader(out_r, readable)
    _keep_busy(loop, share, stop)
    start = time.perf_counter()
    loop.run_until_complete(done)
    seconds = time.perf_counter() - start
    stop.set()
    loop.close()
    os.close(out_r)
    child.wait()
    os.waitpid(pid, 0)
    return got[0] / seconds / 1e6, got[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path, help="what cat prints (the bench's is 64 MiB of text)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--busy", default="0,0.25,0.5", help="the loop's busy shares, commas")
    args = parser.parse_args()
    shares = [float(share) for share in args.busy.split(",")]
    ways: list[tuple[str, Callable[[Path, float], tuple[float, int]]]] = [
        ("thread", by_thread),
        ("process", by_process),
    ]
    rates: dict[tuple[str, float], list[float]] = {}
    for index in range(args.rounds):
        for share in shares:
            for name, way in ways if index % 2 == 0 else ways[::-1]:
                rate, count = way(args.file, share)
                rates.setdefault((name, share), []).append(rate)
                line = f"round {index} {name:7} busy {share:.2f}: {rate:6.1f} MB/s, {count} bytes"
                print(line, flush=True)
    for (name, share), values in sorted(rates.items()):
        spread = " ".join(f"{value:.0f}" for value in values)
        print(f"{name:7} busy {share:.2f}: median {statistics.median(values):6.1f}  ({spread})")


if __name__ == "__main__":
    main()

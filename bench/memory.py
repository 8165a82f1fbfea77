"""Where a session with its own connection spends server memory: ``python -m bench.memory``.

Starts webpty's and the built-in's servers under tracemalloc (``bench/_traced_server.py`` wraps
``jupyter server``; SIGUSR2 makes it write a snapshot), opens ``--sessions`` sessions, each on a
connection of its own (a page per terminal), and prints the server's RSS growth per session and
the allocations that grew most, grouped by the first frame outside the stdlib. The RSS figure
here is inflated by tracemalloc's own bookkeeping; the bench's scale workload has the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tracemalloc
from pathlib import Path

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench.harness import Harness
from bench.server import JupyterServer, rss_bytes

TRACED = Path(__file__).resolve().parent / "_traced_server.py"


def _traced_launcher(self: JupyterServer) -> list[str]:
    return [sys.executable, str(TRACED), str(self.workdir / f"snap-{self.label}")]


async def _snapshot(server: JupyterServer, index: int) -> tracemalloc.Snapshot:
    path = server.workdir / f"snap-{server.label}.{index}"
    os.kill(server.pid, signal.SIGUSR2)
    # Another thread of the server may take the signal, and Python runs the handler only when
    # the main thread next runs: a request wakes its loop.
    async with aiohttp.ClientSession(headers=server.headers) as http:
        while not path.exists():
            async with http.get(f"{server.url}api/status") as response:
                await response.read()
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # the dump is renamed into place whole; give the rename a moment
    return tracemalloc.Snapshot.load(str(path))


_ONCE = 64 * 1024


async def run(
    sessions: int, top: int, shared: bool, only: str | None = None, keep: Path | None = None
) -> None:
    """Open the sessions and print the per-session figures and the top allocation sites."""
    JupyterServer.launcher = _traced_launcher  # type: ignore[method-assign]
    harness = Harness("webpty-memory-")
    try:
        await harness.start(timeout=120)
        for target in harness.targets[:2]:
            if only is not None and target.name != only:
                continue
            server = next(s for s in harness.servers if s.pid == target.pid)
            opened = [await target.open(shared=shared) for _ in range(5)]  # warm-up
            await asyncio.sleep(1.0)
            before, rss0 = await _snapshot(server, 0), rss_bytes(server.pid)
            opened += [await target.open(shared=shared) for _ in range(sessions)]
            await asyncio.sleep(1.0)
            after, rss1 = await _snapshot(server, 1), rss_bytes(server.pid)
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                for index, snapshot in enumerate((before, after)):
                    snapshot.dump(str(keep / f"{target.name}.{index}"))
            stats = after.compare_to(before, "traceback")
            # One new block of 64 KiB or more is a table shared by the process that grew once
            # while the sessions were opened (sys.intern's dict, resized when pathlib interned
            # one more file name: 1.9 MB), not memory a session holds: counted apart.
            once = [s for s in stats if s.count_diff == 1 and s.size_diff >= _ONCE]
            stats = [s for s in stats if s not in once]
            traced = sum(s.size_diff for s in stats)
            print(
                f"\n== {target.name}: {sessions} sessions, {'shared' if shared else 'own'} "
                f"connections: RSS +{(rss1 - rss0) / sessions / 1e3:.1f} KB/session, traced "
                f"+{traced / sessions / 1e3:.1f} KB/session"
            )
            for stat in once:
                frame = stat.traceback[-1]  # the newest frame: where the table grew
                print(
                    f"  and once, not per session: {stat.size_diff / 1e3:.0f} KB at "
                    f"{Path(frame.filename).name}:{frame.lineno}"
                )
            by_package: dict[str, int] = {}
            for stat in stats:
                by_package[_package(stat.traceback)] = (
                    by_package.get(_package(stat.traceback), 0) + stat.size_diff
                )
            for package, size in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
                print(f"{size / sessions:8.0f} B/session  {package}")
            for package in ("engineio", "tornado"):
                lines: dict[str, int] = {}
                for stat in stats:
                    if _package(stat.traceback) != package:
                        continue
                    frame = next(f for f in reversed(list(stat.traceback)) if package in f.filename)
                    key = f"{Path(frame.filename).name}:{frame.lineno}"
                    lines[key] = lines.get(key, 0) + stat.size_diff
                print(
                    f"  in {package}:",
                    ", ".join(
                        f"{k} {v / sessions:.0f}"
                        for k, v in sorted(lines.items(), key=lambda kv: -kv[1])[:10]
                    ),
                )
            print("top sites (innermost frames last):")
            for stat in stats[:top]:
                frames = [f for f in stat.traceback if "/lib/python3" not in f.filename] or list(
                    stat.traceback
                )
                where = " <- ".join(
                    f"{Path(f.filename).name}:{f.lineno}" for f in list(reversed(frames))[:4]
                )
                print(f"{stat.size_diff / sessions:8.0f} B/session {stat.count_diff:6d}  {where}")
            for session in opened:
                await session.close()
    finally:
        await harness.stop()


def _package(traceback: tracemalloc.Traceback) -> str:
    """The innermost frame's package outside the stdlib (frames are outermost first)."""
    for frame in reversed(list(traceback)):
        parts = Path(frame.filename).parts
        if "site-packages" in parts:
            return parts[parts.index("site-packages") + 1]
        if "jupyter_webpty" in parts:
            return "jupyter_webpty/" + parts[-1]
    return "stdlib only"


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--shared", action="store_true", help="one connection for all sessions")
    parser.add_argument("--only", choices=("webpty", "builtin"), help="measure one server only")
    parser.add_argument("--keep", type=Path, help="write the two snapshots into this folder")
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.top, args.shared, args.only, args.keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())

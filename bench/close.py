"""Closing sessions at scale: ``python -m bench.close [--sessions N] [--quick] [--out FILE]``.

One jupyter-server with jupyter-webpty (``bench.server.JupyterServer``); sessions are created
and closed through the REST API (``POST``/``DELETE {base_url}webpty/api/sessions``), shells are
``bench.harness.SHELL``. Measured, in this order:

* **one close**: server CPU (user + system, from /proc, worker threads included) per close of an
  idle shell, closing ``--closes`` sessions one after the other beside ``--background`` live
  ones (a pass over /proc costs per process), minus the server's idle CPU over the same time;
  and the DELETE's wall time (median);
* **status under closes**: ``GET api/status`` every 10 ms while ``--concurrent`` sessions close at
  once (concurrent DELETEs): its max and p99 latency, and how long the closes took; once with
  plain shells, once with a stubborn job in each (``trap '' HUP TERM``: only SIGKILL ends it,
  so the whole ladder runs, ``kill_grace`` each step); and first, for comparison, while as many
  concurrent ``GET``s of sessions run (no close: what the requests alone cost the loop); and
  last with the stubborn sessions closed by ``terminal:close`` calls over Socket.IO (the
  panel's way), which leaves out the HTTP requests' own cost;
* **stop**: seconds from SIGTERM to the server's exit with ``--sessions`` live sessions, and the
  processes that outlived it (must be none).

Targets (issue 11, item 8): one close under 50 ms of server CPU; status under 100 ms while 100
sessions close; stop with 1000 sessions under 5 s (Kubernetes' grace period is 30 s).
Run against another checkout's server with ``PYTHONPATH=/that/checkout``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/close.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import aiohttp

from bench.harness import SHELL, shell_env
from bench.server import JupyterServer, cpu_seconds
from bench.webpty_client import WebptyConnection

STUBBORN = "(trap '' HUP TERM; sleep 100{n}) &\n"


class Sessions:
    """The REST API of one server: create, type into, close sessions."""

    def __init__(self, server: JupyterServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.api = f"{server.url}webpty/api/sessions"

    async def create(self, count: int, parallel: int = 8) -> list[str]:
        """``count`` new sessions, ``parallel`` requests at a time; their ids."""
        made: list[str] = []

        async def one() -> None:
            async with self.http.post(self.api, json={}) as response:
                assert response.status == 201, await response.text()
                made.append((await response.json())["session_id"])

        for start in range(0, count, parallel):
            await asyncio.gather(*(one() for _ in range(min(parallel, count - start))))
        return made

    async def type(self, session_id: str, text: str) -> None:
        """Send ``text`` to a session's shell."""
        async with self.http.post(f"{self.api}/{session_id}/input", json={"data": text}) as r:
            assert r.status in (200, 204), await r.text()

    async def close(self, session_id: str) -> float:
        """DELETE one session; its wall time (seconds)."""
        before = time.perf_counter()
        async with self.http.delete(f"{self.api}/{session_id}") as response:
            assert response.status == 204, await response.text()
        return time.perf_counter() - before


def _processes() -> int:
    return sum(entry.name.isdigit() for entry in Path("/proc").iterdir())


async def settle(pid: int, quiet: float = 0.02, longest: float = 30.0) -> float:
    """Wait until ``pid`` uses under ``quiet`` of a core over 0.5 s; return its idle rate."""
    deadline = time.monotonic() + longest
    while True:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        rate = (cpu_seconds(pid) - before) / 0.5
        if rate < quiet or time.monotonic() > deadline:
            return rate


async def one_close(sessions: Sessions, closes: int) -> dict[str, float]:
    """Server CPU and wall time per close, closing idle shells one at a time."""
    pid = sessions.server.pid
    made = await sessions.create(closes)
    idle = await settle(pid)
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    walls = [await sessions.close(session_id) for session_id in made]
    await asyncio.sleep(0.2)  # exit callbacks after the reply
    cpu = cpu_seconds(pid) - cpu_before - idle * (time.monotonic() - started)
    return {
        "cpu_ms_per_close": max(cpu, 0.0) / closes * 1000,
        "wall_ms_p50": statistics.median(walls) * 1000,
        "closes": closes,
    }


async def status_during(
    sessions: Sessions,
    count: int,
    *,
    stubborn: bool = False,
    close: bool = True,
    via_socket: bool = False,
) -> dict[str, float]:
    """``api/status`` latency while ``count`` sessions close at once (or, with ``close`` False,
    while each gets one ``GET``: what as many concurrent requests cost without any close).

    ``via_socket``: the closes are ``terminal:close`` calls on two Socket.IO connections, as
    the panel sends them, instead of as many HTTP requests (each of which costs jupyter-server
    about 1 ms of loop time whatever it does).
    """
    made = await sessions.create(count)
    if stubborn:
        for n, session_id in enumerate(made):
            await sessions.type(session_id, STUBBORN.format(n=n))
    await settle(sessions.server.pid)
    latencies: list[float] = []
    done = asyncio.Event()

    async def poll() -> None:
        # Its own connection: the closes' requests fill the other session's pool (100).
        async with aiohttp.ClientSession(headers=sessions.server.headers) as own:
            while not done.is_set():
                before = time.perf_counter()
                async with own.get(f"{sessions.server.url}api/status") as response:
                    assert response.status == 200
                latencies.append(time.perf_counter() - before)
                await asyncio.sleep(0.01)

    async def look(session_id: str) -> None:
        async with sessions.http.get(f"{sessions.api}/{session_id}") as response:
            assert response.status == 200

    sockets: list[WebptyConnection] = []
    if via_socket:
        for _ in range(2):  # the server handles at most 64 calls of one connection at once
            sockets.append(WebptyConnection(sessions.server.url, sessions.server.headers))
            await sockets[-1].connect()

    async def close_by_socket(n: int, session_id: str) -> None:
        reply = await sockets[n % 2].sio.call("terminal:close", {"session_id": session_id})
        assert reply.get("success"), reply

    if via_socket:
        work = [close_by_socket(n, s) for n, s in enumerate(made)]
    else:
        work = [(sessions.close if close else look)(s) for s in made]
    poller = asyncio.create_task(poll())
    await asyncio.sleep(0.1)
    before = time.perf_counter()
    await asyncio.gather(*work)
    took = time.perf_counter() - before
    for connection in sockets:
        await connection.close()
    done.set()
    await poller
    if not close:
        await asyncio.gather(*(sessions.close(session_id) for session_id in made))
    latencies.sort()
    return {
        "sessions": count,
        "status_max_ms": latencies[-1] * 1000,
        "status_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "status_samples": len(latencies),
        "requests_took_s": took,
    }


async def stop(server: JupyterServer, sessions: Sessions, total: int) -> dict[str, Any]:
    """Seconds from SIGTERM to exit with ``total`` live sessions; what outlived the server."""
    listed = f"{sessions.api}"
    async with sessions.http.get(listed) as response:
        live = len(await response.json())
    await sessions.create(max(0, total - live))
    await settle(server.pid, longest=60)
    server.remember_family()
    processes = _processes()
    assert server.process is not None
    before = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(server.process.wait, 300)
    took = time.perf_counter() - before
    leftovers = await server.stop()
    return {"sessions": total, "processes": processes, "stop_s": took, "leftover_pids": leftovers}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """All three measurements on one server; the results."""
    workdir = Path(tempfile.mkdtemp(prefix="webpty-close-"))
    options = [f"--WebPtyApp.kill_grace={args.kill_grace}"]
    server = JupyterServer(workdir, SHELL, shell_env(), "webpty", options)
    results: dict[str, Any] = {"processes_on_machine": _processes()}
    try:
        await server.start()
        async with aiohttp.ClientSession(headers=server.headers) as http:
            sessions = Sessions(server, http)
            await sessions.create(args.background)
            results["one_close"] = await one_close(sessions, args.closes)
            results["status_gets"] = await status_during(sessions, args.concurrent, close=False)
            results["status_plain"] = await status_during(sessions, args.concurrent)
            results["status_stubborn"] = await status_during(
                sessions, args.concurrent, stubborn=True
            )
            results["status_socket"] = await status_during(
                sessions, args.concurrent, stubborn=True, via_socket=True
            )
            results["stop"] = await stop(server, sessions, args.sessions)
    finally:
        if server.process is not None and server.process.poll() is None:
            await server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints the figures beside their targets, writes them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.close", description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000, help="live sessions at stop")
    parser.add_argument("--background", type=int, default=200, help="live beside the closes")
    parser.add_argument("--closes", type=int, default=50, help="sequential closes measured")
    parser.add_argument("--concurrent", type=int, default=100, help="sessions closed at once")
    parser.add_argument("--kill-grace", type=float, default=1.0, help="WebPtyApp.kill_grace")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "close.json"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.background, args.closes, args.concurrent = 40, 10, 5, 10
    results = asyncio.run(run(args))
    results["args"] = {k: str(v) for k, v in vars(args).items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    one, end = results["one_close"], results["stop"]
    print(
        f"one close: {one['cpu_ms_per_close']:.1f} ms server CPU (target < 50), "
        f"{one['wall_ms_p50']:.1f} ms wall (p50), beside {args.background} sessions"
    )
    for key, label in (
        ("status_gets", "GETs of sessions (no close, for comparison)"),
        ("status_plain", "closes of idle shells"),
        ("status_stubborn", "closes of shells with a stubborn job"),
        ("status_socket", "Socket.IO closes of shells with a stubborn job"),
    ):
        figures = results[key]
        print(
            f"api/status during {figures['sessions']} concurrent {label}: "
            f"max {figures['status_max_ms']:.1f} ms, p99 {figures['status_p99_ms']:.1f} ms "
            f"(target < 100); requests took {figures['requests_took_s']:.2f} s"
        )
    print(
        f"stop with {end['sessions']} sessions: {end['stop_s']:.2f} s (target < 5); "
        f"leftovers: {end['leftover_pids']}"
    )
    return 1 if end["leftover_pids"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""The floor of a networked terminal's echo latency: ``python -m bench.floor [--samples N]``.

The echo targets compare jupyter-webpty with the built-in terminal. What would a server that did
nothing at all achieve through the same client, loopback and kernel? This starts a *minimal
relay*, a tornado websocket server in its own process that puts one shell on a PTY per
connection and forwards raw bytes both ways (no framing beyond the websocket's, no JSON, no
auth, no retention, TCP_NODELAY), and measures its echo latency, idle and beside a flood,
interleaved with jupyter-webpty, the built-in terminal and the raw in-process PTY loop, with the
workloads of ``bench.run``. A Python web terminal cannot beat the relay; where the relay's p99
is above half the built-in's, the "p99 <= 0.5 x built-in" target is below the floor here.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

if __package__ in (None, ""):  # `python bench/floor.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import workloads
from bench.harness import SHELL, Harness
from bench.stream import Output

#: The relay server, run as ``python -c RELAY PORT SHELL...``: the least a web terminal does.
RELAY = r"""
import fcntl, os, pty, signal, struct, sys, termios
import tornado.ioloop, tornado.web, tornado.websocket

class Relay(tornado.websocket.WebSocketHandler):
    def open(self):
        self.set_nodelay(True)
        pid, fd = pty.fork()
        if pid == 0:
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os.execvp(sys.argv[2], sys.argv[2:])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.set_blocking(fd, False)
        self.pid, self.fd = pid, fd
        tornado.ioloop.IOLoop.current().add_handler(fd, self.readable, tornado.ioloop.IOLoop.READ)

    def readable(self, fd, events):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.write_message(data, binary=True)
        else:
            tornado.ioloop.IOLoop.current().remove_handler(fd)

    def on_message(self, message):
        os.write(self.fd, message.encode() if isinstance(message, str) else message)

    def on_close(self):
        tornado.ioloop.IOLoop.current().remove_handler(self.fd)
        os.close(self.fd)
        os.kill(self.pid, signal.SIGHUP)
        os.waitpid(self.pid, 0)

def main():
    app = tornado.web.Application([(r"/relay", Relay)], websocket_max_message_size=1 << 20)
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *_: tornado.ioloop.IOLoop.current().add_callback_from_signal(tornado.ioloop.IOLoop.current().stop))
    tornado.ioloop.IOLoop.current().start()

main()
"""


class RelaySession:
    """One shell behind the relay: raw bytes in binary frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, output: Output) -> None:
        self.ws = ws
        self.output = output
        self.key = ""
        self.create_seconds = 0.0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            self.output.feed(message.data)

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class RelayTarget:
    """The minimal relay as a bench target."""

    name = "relay"

    def __init__(self, env: dict[str, str], prompt: bytes) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(env, TERM="xterm-256color")
        argv = [sys.executable, "-c", RELAY, str(self.port), *SHELL]
        self.process = subprocess.Popen(argv, env=env, start_new_session=True)
        self.pid = self.process.pid
        self.prompt = prompt
        self.http: aiohttp.ClientSession | None = None

    async def open(self, *, shared: bool = False) -> RelaySession:
        if self.http is None:
            self.http = aiohttp.ClientSession()
        deadline = time.monotonic() + 30
        while True:
            try:
                ws = await self.http.ws_connect(f"ws://127.0.0.1:{self.port}/relay")
                break
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        output = Output()
        prompt = output.expect(self.prompt)
        session = RelaySession(ws, output)
        await prompt.wait(30)
        return session

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        self.process.terminate()
        await asyncio.to_thread(self.process.wait, 30)


async def run(samples: int) -> dict[str, Any]:
    """Echo idle and beside a flood for the four targets; returns the workloads' results."""
    harness = Harness("webpty-floor-")
    try:
        await harness.start(lambda env: [RelayTarget(env, workloads.PROMPT)])
        sizes = workloads.Sizes(echo_samples=samples, cat_bytes=1 << 20, history_bytes=1 << 16)
        ctx = workloads.Context(harness.targets, sizes, harness.workdir)
        results: dict[str, Any] = {
            "echo": await workloads.echo_idle(ctx),
            "echo_flood": await workloads.echo_flood(ctx),
        }
    finally:
        leftovers = await harness.stop()
    results["leftover_pids"] = leftovers
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints p50/p99 per target and each one's ratio to the built-in's p99."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--samples", type=int, default=2000, help="echo samples per target")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.samples))
    leftovers = results.pop("leftover_pids")
    for workload, title in (("echo", "idle"), ("echo_flood", "beside a flood")):
        print(f"echo {title}: p50 / p99 ms (p99 x built-in's)")
        builtin = results[workload]["builtin"]["p99_ms"]
        for name, figures in results[workload].items():
            p50, p99 = figures["p50_ms"], figures["p99_ms"]
            print(f"  {name:8} {p50:6.2f} / {p99:6.2f}   ({p99 / builtin:4.2f})")
    if leftovers:
        print(f"leftover processes killed: {leftovers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The floor of a Python web terminal: ``python -m bench.floor [--samples N] [--only ...]``.

What would a server that did nothing at all achieve through the same client, loopback and
kernel? This starts a *minimal relay*, a tornado websocket server in its own process that puts
one shell on a PTY per connection and forwards raw bytes both ways (no framing beyond the
websocket's, no JSON, no auth, no retention, no flow control, TCP_NODELAY), and measures it with
the workloads of ``bench.run``, interleaved with jupyter-webpty, the built-in terminal, ttyd (when
built: bench/README.md) and the raw in-process PTY loop:

- echo latency, idle and beside a flood: a Python web terminal cannot beat the relay's;
- ``cat`` throughput and Ctrl+C to prompt: the relay is the most a tornado server in one Python
  process moves, so where it is below a target set as a multiple of ttyd's (C, libwebsockets),
  that target is below the floor of the language and server stack, not of our design. The
  relay has no flow control, so it also shows what flow control costs us.

A second relay, ``sio-relay``, speaks our protocol with its flow control. The workloads whose
flood ends with a Ctrl+C (``echo_flood``, ``interrupt``) leave out the raw relay
(``_LEFT_OUT``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

if __package__ in (None, ""):  # `python bench/floor.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import pooled, pressure, report, workloads
from bench.harness import SHELL, Harness
from bench.stream import Output
from bench.webpty_client import WebptyConnection, WebptySession

T = TypeVar("T")

#: Both relays start their shells with ``spawn_shell()``: (pid, fd) of ``SHELL...`` on a new
#: 80x24 PTY whose fd does not block.
_SPAWN = r"""
import fcntl, os, pty, signal, struct, sys, termios

def spawn_shell():
    pid, fd = pty.fork()
    if pid == 0:
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.execvp(sys.argv[2], sys.argv[2:])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    os.set_blocking(fd, False)
    return pid, fd
"""

#: The relay server, run as ``python -c RELAY PORT SHELL...``: the least a web terminal does.
_RELAY_SERVER = r"""
import tornado.ioloop, tornado.web, tornado.websocket

class Relay(tornado.websocket.WebSocketHandler):
    def open(self):
        self.set_nodelay(True)
        self.pid, self.fd = pid, fd = spawn_shell()
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
RELAY = _SPAWN + _RELAY_SERVER


#: The same relay speaking jupyter-webpty's protocol (docs/protocol.md) as far as the bench's
#: client needs it: Engine.IO's open packet, Socket.IO's connect, ``terminal:create`` /
#: ``input`` / ``ack`` / ``close`` and ``terminal:output`` as a binary event whose two frames go
#: out in one write (as webpty's fast path writes them), with the protocol's flow control (it
#: stops reading the PTY while 256 KiB are unacknowledged, webpty's default window; without
#: it a flood piles up in the server faster than the client parses it, and a Ctrl+C waits
#: minutes for the pile). Nothing else: no session registry beyond a dict, no auth, no
#: retention, no screen tracker. So it is the least a server behind this protocol, on tornado,
#: does per keystroke; its gap to the raw relay is the protocol's cost, and webpty's gap to it
#: is everything webpty does on top.
_SIO_RELAY_SERVER = r"""
import itertools, json
import tornado.ioloop, tornado.web, tornado.websocket

LOOP = tornado.ioloop.IOLoop.current()
IDS = itertools.count(1)
WINDOW = 256 * 1024

def head(opcode, size):
    if size < 126:
        return bytes((0x80 | opcode, size))
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x80 | opcode, 126, size)
    return struct.pack("!BBQ", 0x80 | opcode, 127, size)

class SioRelay(tornado.websocket.WebSocketHandler):
    def open(self):
        self.set_nodelay(True)
        self.shells = {}  # session id -> [pid, fd, bytes sent, bytes acknowledged, reading]
        self.write_message('0{"sid":"relay","upgrades":[],"pingInterval":25000,'
                           '"pingTimeout":20000,"maxPayload":1000000}')

    def spawn(self):
        pid, fd = spawn_shell()
        key = str(next(IDS))
        shell = self.shells[key] = [pid, fd, 0, 0, True]
        LOOP.add_handler(fd, lambda fd, events: self.readable(key, shell), LOOP.READ)
        return key

    def readable(self, key, shell):
        try:
            data = os.read(shell[1], 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            LOOP.remove_handler(shell[1])
            return
        shell[2] += len(data)
        text = ('451-["terminal:output",{"session_id":"%s","offset":%d,'
                '"data":{"_placeholder":true,"num":0}}]' % (key, shell[2])).encode()
        self.ws_connection.stream.write(head(1, len(text)) + text + head(2, len(data)) + data)
        if shell[2] - shell[3] >= WINDOW:
            LOOP.update_handler(shell[1], 0)
            shell[4] = False

    def end(self, key):
        shell = self.shells.pop(key, None)
        if shell is not None:
            pid, fd = shell[0], shell[1]
            LOOP.remove_handler(fd)
            os.close(fd)
            os.kill(pid, signal.SIGHUP)
            os.waitpid(pid, 0)

    def on_message(self, message):
        if message == "40":
            self.write_message('40{"sid":"relay-ns"}')
            return
        if not message.startswith("42"):
            return
        rest = message[2:]
        start = rest.index("[")
        ack = rest[:start]
        event, data = json.loads(rest[start:])
        if event == "terminal:input":
            shell = self.shells.get(data["session_id"])
            if shell is not None:
                os.write(shell[1], data["data"].encode())
        elif event == "terminal:ack":
            shell = self.shells.get(data["session_id"])
            if shell is not None:
                shell[3] = data["offset"]
                if not shell[4] and shell[2] - shell[3] < WINDOW:
                    LOOP.update_handler(shell[1], LOOP.READ)
                    shell[4] = True
        elif event == "terminal:create":
            reply = {"success": True, "session_id": self.spawn()}
            self.write_message("43" + ack + json.dumps([reply]))
        elif event == "terminal:close":
            self.end(data["session_id"])
            self.write_message("43" + ack + json.dumps([{"success": True}]))

    def on_close(self):
        for key in list(self.shells):
            self.end(key)

def main():
    app = tornado.web.Application([(r"/webpty/socket.io/", SioRelay)],
                                  websocket_max_message_size=1 << 20)
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *_: LOOP.add_callback_from_signal(LOOP.stop))
    LOOP.start()

main()
"""
SIO_RELAY = _SPAWN + _SIO_RELAY_SERVER


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
    code = RELAY

    def __init__(self, env: dict[str, str], prompt: bytes) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = dict(env, TERM="xterm-256color")
        argv = [sys.executable, "-c", self.code, str(self.port), *SHELL]
        self.process = subprocess.Popen(argv, env=env, start_new_session=True)
        self.pid = self.process.pid
        self.prompt = prompt
        self.http: aiohttp.ClientSession | None = None

    async def open(self, *, shared: bool = False) -> RelaySession:
        if self.http is None:
            self.http = aiohttp.ClientSession()
        http = self.http
        ws = await _until_listening(lambda: http.ws_connect(f"ws://127.0.0.1:{self.port}/relay"))
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


class SioRelayTarget(RelayTarget):
    """The relay behind jupyter-webpty's protocol (``SIO_RELAY``), through webpty's bench client."""

    name = "sio-relay"
    code = SIO_RELAY

    async def open(self, *, shared: bool = False) -> WebptySession:  # type: ignore[override]
        connection = WebptyConnection(f"http://127.0.0.1:{self.port}/", {})
        await _until_listening(connection.connect)
        return await connection.create(self.prompt, owns_connection=True)


async def _until_listening(connect: Callable[[], Awaitable[T]]) -> T:
    """``connect()``, retried while the relay process is still starting (up to 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await connect()
        except (aiohttp.ClientError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)  # the relay is not listening yet: poll, with a deadline


_WORKLOAD = {
    "echo": workloads.echo_idle,
    "typing": workloads.echo_typing,
    "echo_flood": workloads.echo_flood,
    "throughput": workloads.throughput,
    "interrupt": pressure.interrupt,
}
FLOOR_WORKLOADS = tuple(_WORKLOAD)
#: Targets a workload leaves out. The floods end with a Ctrl+C, and the raw relay, without
#: flow control, piles a flood up faster than the client parses it, so its Ctrl+C waits for
#: the pile: past the workloads' 120 s deadline on 2 x AMD EPYC (2026-12-03 and -04). The
#: built-in (no flow control either) timed out twice in the interrupt workload on 2026-12-04
#: while it took turns with the raw relay; with the relay left out it finished every trial
#: there (43.5 ms, as in ``bench.run``) in three workload runs, so it stays in.
_LEFT_OUT = {"echo_flood": ("relay",), "interrupt": ("relay",)}


async def run(
    samples: int,
    only: list[str],
    size: int,
    rounds: int,
    typing: int = 300,
    ctrlc_quick_trials: int | None = None,
) -> dict[str, Any]:
    """The chosen workloads for every target, the relay among them; returns their results.

    ``ctrlc_quick_trials``: the Ctrl+C trials after short floods (``Sizes.ctrlc_quick_trials``
    when None), beside the five after 2 s floods.
    """
    harness = Harness("webpty-floor-", with_ttyd=True)
    try:
        await harness.start(
            lambda env: [RelayTarget(env, workloads.PROMPT), SioRelayTarget(env, workloads.PROMPT)]
        )
        sizes = workloads.Sizes(
            echo_samples=samples, cat_bytes=size, rounds=rounds, history_bytes=1 << 16,
            typing_samples=typing,
        )  # fmt: skip
        if ctrlc_quick_trials is not None:
            sizes.ctrlc_quick_trials = ctrlc_quick_trials
        results: dict[str, Any] = {}
        for name in only:
            left_out = _LEFT_OUT.get(name, ())
            targets = [t for t in harness.targets if t.name not in left_out]
            ctx = workloads.Context(targets, sizes, harness.workdir)
            results[name] = await _WORKLOAD[name](ctx)
    finally:
        leftovers = await harness.stop()
    results["leftover_pids"] = leftovers
    return results


def _ratios(figure: float, results: dict[str, Any], key: str) -> str:
    """``figure`` over the built-in's and ttyd's same figure, where measured."""
    parts = []
    for peer in ("builtin", "ttyd"):
        if peer in results and results[peer].get(key):
            parts.append(f"{figure / results[peer][key]:4.2f} x {peer}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints each workload's figure per target, with ratios to the peers'."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--samples", type=int, default=2000, help="echo samples per target")
    parser.add_argument("--typing", type=int, default=300, help="typing samples per target")
    parser.add_argument(
        "--only", default=",".join(FLOOR_WORKLOADS), help="comma-separated workloads"
    )
    parser.add_argument("--size", type=float, default=64, help="cat file size (MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds per target")
    parser.add_argument(
        "--ctrlc-trials",
        type=int,
        default=None,
        help="Ctrl+C trials after short floods, per target (default: as bench.run, 50)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="also write the results, every Ctrl+C time among them, to this file "
        "(python -m bench.pooled pools such files with bench.run's)",
    )
    args = parser.parse_args(argv)
    only = args.only.split(",")
    if set(only) - set(FLOOR_WORKLOADS):
        parser.error(f"--only takes some of: {', '.join(FLOOR_WORKLOADS)}")
    size = int(args.size * (1 << 20))
    started = time.time()
    results = asyncio.run(
        run(args.samples, only, size, args.rounds, args.typing, args.ctrlc_trials)
    )
    leftovers = results.pop("leftover_pids")
    if args.json:
        meta = {"tool": "bench.floor", "only": only, "seconds": time.time() - started}
        document = {"machine": report.machine(), "meta": meta, "results": results}
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    titles = (
        ("echo", "idle"),
        ("typing", "typing (50 ms between keys)"),
        ("echo_flood", "beside a flood"),
    )
    for workload, title in titles:
        if workload not in results:
            continue
        print(f"echo {title}: p50 / p99 ms")
        for name, figures in results[workload].items():
            p50, p99 = figures["p50_ms"], figures["p99_ms"]
            print(
                f"  {name:9} {p50:6.2f} / {p99:6.2f}   (p99 {_ratios(p99, results[workload], 'p99_ms')})"
            )
    if "throughput" in results:
        print("cat throughput: MB/s (median), byte-exact")
        for name, figures in results["throughput"].items():
            if isinstance(figures, dict):
                rate = figures["mb_per_s"]
                ratios = _ratios(rate, results["throughput"], "mb_per_s")
                print(f"  {name:9} {rate:6.1f}  {figures['sha256_ok']}   ({ratios})")
    if "interrupt" in results:
        print(
            "Ctrl+C during yes -> prompt: ms (median), KB delivered after the Ctrl+C; "
            f"the trials under {pooled.FAST_MS:g} ms (the fast mode) and their median"
        )
        for name, figures in results["interrupt"].items():
            ms = figures["ctrl_c_ms"]
            ratios = _ratios(ms, results["interrupt"], "ctrl_c_ms")
            modes = pooled.summary(figures["ctrl_c_ms_all"])
            fast = f"fast {modes['fast']}/{modes['trials']} at {pooled.ms(modes['fast_median_ms'])}"
            print(
                f"  {name:9} {ms:6.2f}  {figures['drained_after_ctrl_c_kb']:8.1f}   "
                f"{fast}   ({ratios})"
            )
    if leftovers:
        print(f"leftover processes killed: {leftovers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

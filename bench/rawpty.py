"""The physical baseline: shells on PTYs read in this process by ``loop.add_reader``."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
import time

from .stream import Output

COLS, ROWS = 80, 24


class RawSession:
    """A shell on a PTY read by ``loop.add_reader`` and one ``os.read`` per event."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: default signal dispositions, then the shell
            try:
                for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                os.execvpe(argv[0], argv, env)  # noqa: S606 - a fixed argv, no shell wanted
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.set_blocking(fd, False)
        self.output = Output()
        self.key = str(pid)
        self.create_seconds = 0.0
        self._loop = asyncio.get_running_loop()
        self._reading = False

    def read(self, enable: bool = True) -> None:
        """Start (or stop) reading the PTY."""
        if enable and not self._reading:
            self._loop.add_reader(self.fd, self._on_readable)
        elif not enable and self._reading:
            self._loop.remove_reader(self.fd)
        self._reading = enable

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.read(False)
            return
        self.output.feed(data)

    async def send(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8"))

    async def close(self) -> None:
        self.read(False)
        os.close(self.fd)  # the kernel hangs up the terminal's foreground jobs
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGHUP)
        deadline = time.monotonic() + 3
        while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            await asyncio.sleep(0.01)


class RawTarget:
    """The physical baseline: no server, no network, the same client-side accounting."""

    name = "raw"

    def __init__(self, shell: list[str], env: dict[str, str], prompt: bytes) -> None:
        self.shell = shell
        self.env = dict(env, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
        self.prompt = prompt
        self.pid = os.getpid()

    async def open(self, *, shared: bool = False) -> RawSession:
        t0 = time.perf_counter()
        session = RawSession(self.shell, self.env)
        prompt = session.output.expect(self.prompt)
        session.read()
        session.create_seconds = await prompt.wait(30) - t0
        return session

    async def open_stalled(self, command: str) -> RawSession:
        session = RawSession(self.shell, self.env)
        await session.send(command)  # and never read: the PTY buffer fills, `yes` blocks
        return session

    async def close(self) -> None:
        pass

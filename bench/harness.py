"""What every benchmark entry point starts and stops: a jupyter-server for jupyter-webpty, one
for the built-in terminal, and the targets on them (plus, when asked and built, ttyd, and the raw
PTY loop in this process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from jupyter_webpty.core.hostclient import find_hosts, stop_host

from . import ttyd, workloads
from .server import JupyterServer, descendants
from .targets import BuiltinTarget, RawTarget, Target, WebptyTarget

SHELL = [shutil.which("bash") or "/bin/bash", "--norc", "--noprofile", "-i"]


def shell_env() -> dict[str, str]:
    """The environment every shell gets: a fixed prompt, no history, UTF-8."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JPY_"))}
    env.update(PS1=workloads.PROMPT.decode(), HISTFILE="/dev/null", LANG="C.UTF-8")
    env.pop("PROMPT_COMMAND", None)
    return env


class Harness:
    """Two identical servers in a temporary directory, webpty measured on one and the built-in
    terminal on the other, so that each server's RSS and CPU are its own."""

    def __init__(
        self,
        prefix: str,
        webpty_options: Sequence[str] = (),
        *,
        with_ttyd: bool = False,
        fast_path_ab: bool = False,
        host_ab: bool = False,
        ab_options: Sequence[str] = (),
    ) -> None:
        self.with_ttyd = with_ttyd
        #: Peers asked for but not run, and why (a missing ttyd build).
        self.skipped: dict[str, str] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix))
        self.env = shell_env()
        self.servers = [
            JupyterServer(self.workdir, SHELL, self.env, "webpty", list(webpty_options)),
            JupyterServer(self.workdir, SHELL, self.env, "builtin"),
        ]
        if fast_path_ab:  # a third, identical server with WebPtyApp.fast_path off
            off = [*webpty_options, "--WebPtyApp.fast_path=False"]
            self.servers.append(JupyterServer(self.workdir, SHELL, self.env, "webpty-plain", off))
        elif host_ab:  # a third, identical server whose shells live in a PTY host
            hosted = [*webpty_options, "--WebPtyApp.persist_sessions=True"]
            self.servers.append(JupyterServer(self.workdir, SHELL, self.env, "webpty-host", hosted))
        elif ab_options:  # a third, identical server but for these options
            more = [*webpty_options, *ab_options]
            self.servers.append(JupyterServer(self.workdir, SHELL, self.env, "webpty-b", more))
        self.targets: list[Target] = []
        self.ttyd: ttyd.TtydTarget | None = None

    async def start(
        self,
        extra: Callable[[dict[str, str]], list[Target]] | None = None,
        timeout: float = 60.0,
    ) -> None:
        """Start the servers; ``targets`` are then webpty, built-in, ttyd, ``extra(env)``, raw."""
        await asyncio.gather(*(server.start(timeout) for server in self.servers))
        prompt = workloads.PROMPT
        peers: list[Target] = []
        if self.with_ttyd:
            reason = ttyd.missing_reason()
            if reason is None:
                self.ttyd = ttyd.TtydTarget(SHELL, self.env, prompt, self.workdir / "ttyd.log")
                peers.append(self.ttyd)
            else:
                self.skipped["ttyd"] = reason
                print(f"[bench] {reason}", flush=True)
        self.targets = [
            WebptyTarget(self.servers[0], prompt),
            *(WebptyTarget(s, prompt, "webpty_plain") for s in self.servers[2:]),
            BuiltinTarget(self.servers[1], prompt),
            *peers,
            *(extra(self.env) if extra is not None else []),
            RawTarget(SHELL, self.env, prompt),
        ]

    def remember_family(self) -> None:
        """Note the servers' current descendants, so that ``stop`` checks each one by pid."""
        for server in self.servers:
            server.remember_family()
        if self.ttyd is not None:
            self.ttyd.remember_family()

    async def stop(self) -> list[int]:
        """Close the targets and stop everything; returns the processes that had to be killed."""
        for target in self.targets:
            await target.close()
        leftovers: list[int] = []
        for server in self.servers:
            leftovers += await server.stop()
            # A PTY host (--host-ab) outlives its server on purpose: end it and its shells.
            for info in find_hosts(str(self.workdir / f"runtime-{server.label}")):
                stop_host(info.directory)
        if self.ttyd is not None:
            leftovers += await self.ttyd.stop()
        for pid in descendants(os.getpid()):  # raw PTY shells, helpers: none may remain
            leftovers.append(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return leftovers

"""``jupyter webpty``: find and stop the PTY hosts that keep shells through server restarts.

A host runs on after its server stops (that is its point, ``persist_sessions``); these commands
make sure none becomes a process nobody can reach:

    jupyter webpty list-hosts              the hosts of this user, their roots and shells
    jupyter webpty stop-host --root DIR    end the shells of that root's host, and the host
    jupyter webpty stop-host --all         every host of this user
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

from .core.hostclient import HostClient, HostInfo, find_hosts, stop_host
from .core.hostwire import HostError, host_dir


def _describe(info: HostInfo) -> str:
    try:
        client = HostClient.connect(info.directory)
    except HostError as exc:
        return f"host {info.pid} for {info.root}: not answering ({exc})"
    try:
        answer = client.call({"op": "list"})
    finally:
        client.close()
    state = "a server is attached" if answer.get("attached") else "no server attached"
    lines = [f"host {info.pid} for {info.root}: {state}"]
    for shell in answer.get("shells", []):
        meta = shell.get("meta", {})
        status = "running" if shell.get("exit_code") is None else f"exited {shell['exit_code']}"
        lines.append(f"  {shell['id']}  {meta.get('name', '?')!s:<16} {meta.get('owner', '')!s:<12}"
                     f" pid {shell['pid']} {status}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``jupyter-webpty`` (``jupyter webpty``)."""
    parser = argparse.ArgumentParser(prog="jupyter webpty", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--runtime-dir", default=None, help="default: Jupyter's runtime dir")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list-hosts", help="list this user's PTY hosts and their shells")
    stop = commands.add_parser("stop-host", help="end a PTY host and its shells")
    which = stop.add_mutually_exclusive_group(required=True)
    which.add_argument("--root", help="the root directory of the server the host served")
    which.add_argument("--all", action="store_true", help="every host of this user")
    args = parser.parse_args(argv)
    runtime = args.runtime_dir or jupyter_runtime_dir()
    if args.command == "list-hosts":
        found = find_hosts(runtime)
        for info in found:
            print(_describe(info))  # noqa: T201 - a command-line tool
        if not found:
            print(f"no PTY hosts in {runtime}")  # noqa: T201
        return 0
    targets = (
        [info.directory for info in find_hosts(runtime)]
        if args.all
        else [host_dir(runtime, str(Path(args.root).resolve()))]
    )
    for directory in targets:
        ended = stop_host(directory)
        how = "killed" if ended < 0 else f"ended {ended} shell(s)"
        print(f"{directory}: {how}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())

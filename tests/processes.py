"""What the tests ask about processes, in one place, through psutil (a test dependency).

Tests check that no shell, job or zombie outlives a session and that no fd leaks; each used to
parse ``/proc`` on its own.
"""

from __future__ import annotations

import os

import psutil


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, zombies included."""
    return [child.pid for child in _children(pid)]


def state_of(pid: int) -> str:
    """The process's status as psutil names it (``psutil.STATUS_STOPPED``, ...)."""
    return str(psutil.Process(pid).status())


def is_zombie(process: psutil.Process) -> bool:
    """Whether ``process`` exited and waits only for its parent's wait (gone counts as not)."""
    try:
        return bool(process.status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def zombies_of(pid: int) -> list[int]:
    """Zombie children of ``pid`` (exited, not reaped)."""
    return [child.pid for child in _children(pid) if is_zombie(child)]


def processes_with(marker: str) -> list[int]:
    """Live pids other than this one whose command line contains ``marker``.

    The command line's arguments are joined by NUL bytes, as the kernel keeps them.
    """
    me = os.getpid()
    return [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if process.pid != me and marker in "\0".join(process.info["cmdline"] or ())
    ]


def command_line(pid: int) -> str:
    """The command line of ``pid``, its arguments joined by spaces ("?" when it is gone)."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return "?"


def descendants(root: int) -> dict[int, float]:
    """Every live descendant of ``root``: pid -> start time (a pid and its start time name one
    process even if the pid is reused later)."""
    try:
        tree = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    found: dict[int, float] = {}
    for process in tree:
        try:
            if not is_zombie(process):
                found[process.pid] = process.create_time()
        except psutil.NoSuchProcess:
            continue
    return found


def still_running(processes: dict[int, float]) -> list[int]:
    """The pids of ``processes`` (pid -> start time, from ``descendants``) that still run."""
    running = []
    for pid, started in processes.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == started and not is_zombie(process):
                running.append(pid)
        except psutil.NoSuchProcess:
            continue
    return running


def open_fds() -> list[str]:
    """This process's open file descriptors, sorted (psutil counts them but does not list them)."""
    return sorted(os.listdir("/proc/self/fd"))  # noqa: PTH208 - names only


def rss() -> int:
    """This process's resident memory, bytes."""
    return int(psutil.Process().memory_info().rss)

"""The wire between a server and its PTY host: packets over a ``SOCK_SEQPACKET`` Unix socket.

A packet is a JSON header, a NUL byte, then raw bytes (terminal output, never base64'd); file
descriptors ride along as ``SCM_RIGHTS``. Sequenced packets keep message boundaries and tie
the descriptors to their packet, so neither side needs a framing layer of its own.

Where the host's files live, and how both sides check each other, is here too: the socket and a
JSON file (pid, version, secret) in a directory of mode 0700, files 0600, and ``SO_PEERCRED``
checked on both ends, so a second Unix user can neither connect nor read the secret, even if a
mode was loosened by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

#: Bumped when a message changes meaning. A server meeting a host of another version (an
#: upgrade while shells ran) leaves it alone, logs why and runs its shells itself: the old
#: host's shells must not be lost to an upgrade; ``jupyter webpty stop-host`` ends them.
VERSION = 1
#: Largest payload per packet; longer data goes in several (the socket's send buffer bounds a
#: sequenced packet, about 208 KiB by default on Linux).
CHUNK = 64 * 1024
_MAX_PACKET = CHUNK + 16 * 1024
_MAX_FDS = 8


class HostError(OSError):
    """The host is gone, refused us, or answered something we cannot use."""


def host_key(root_dir: str) -> str:
    """The key of one user's host for one root directory (the revival store's, shortened)."""
    root = str(Path(root_dir).resolve())
    return hashlib.sha256(f"{os.getuid()}\0{root}".encode()).hexdigest()[:16]


def host_dir(runtime_dir: str, root_dir: str) -> Path:
    """The directory of the host for ``root_dir``: ``<runtime>/webpty-host-<key>``."""
    return Path(runtime_dir) / f"webpty-host-{host_key(root_dir)}"


def open_dir(directory: Path) -> int:
    """An ``O_PATH`` descriptor of ``directory`` for ``short_path`` (close it when done)."""
    return os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def short_path(directory: Path, dirfd: int) -> str:
    """A path ``bind``/``connect`` accept for the socket in ``directory``.

    Unix socket paths are limited to 107 bytes; a runtime directory under a long home or a
    test's temporary folder passes that. Then the path goes through ``/proc/self/fd`` of an
    ``O_PATH`` descriptor of the directory (``open_dir``), open while the call runs.
    """
    plain = str(directory / "host.sock")
    if len(os.fsencode(plain)) < 100:
        return plain
    return f"/proc/self/fd/{dirfd}/host.sock"


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end (``SO_PEERCRED``)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def send(
    sock: socket.socket, header: dict[str, Any], payload: bytes = b"", fds: list[int] | None = None
) -> None:
    """Send one packet."""
    packet = json.dumps(header, separators=(",", ":")).encode() + b"\0" + payload
    if len(packet) > _MAX_PACKET:
        msg = f"packet of {len(packet)} bytes is larger than {_MAX_PACKET}"
        raise ValueError(msg)
    if fds:
        socket.send_fds(sock, [packet], fds)
    else:
        sock.sendall(packet)


def receive(sock: socket.socket) -> tuple[dict[str, Any], bytes, list[int]]:
    """Receive one packet: header, payload, descriptors (now ours to close)."""
    packet, fds, flags, _ = socket.recv_fds(sock, _MAX_PACKET, _MAX_FDS)
    if not packet:
        for fd in fds:
            os.close(fd)
        msg = "the other end closed the connection"
        raise HostError(msg)
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        for fd in fds:
            os.close(fd)
        msg = "a packet was truncated"
        raise HostError(msg)
    raw, _, payload = packet.partition(b"\0")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        msg = f"not a packet: {exc}"
        raise HostError(msg) from exc
    if not isinstance(header, dict):
        msg = "not a packet: the header is not an object"
        raise HostError(msg)
    return header, payload, list(fds)


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` atomically with mode 0600."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    temporary.replace(path)

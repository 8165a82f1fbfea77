"""What a client may send before it reaches python-engineio: the query, each frame and packet.

python-engineio's tornado driver checks the query only after accepting the websocket, and its
reader task dies on some frames, after which every frame of the connection queued forever
(docs/protocol.md, "Limits"); python-socketio raises in that reader on packets it cannot
decode. The socket handler (``sockethandler.py``) asks these first and
refuses the request or closes the connection instead.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from socketio import packet

#: Engine.IO packet types a client may send without data beyond a few characters: CLOSE, PONG
#: ("3", "3probe"), UPGRADE, NOOP. Python-engineio decodes any data as JSON, unguarded.
_SHORT_ENGINEIO_PACKET = 16
_ENGINEIO_TYPES = frozenset("0123456")
#: Deepest JSON nesting a packet may have. Our payloads nest 2 deep; Python's json parser
#: raises RecursionError near 1000, which python-socketio does not catch (docs/protocol.md).
MAX_NESTING = 32
#: Socket.IO packet types a client may send: CONNECT, DISCONNECT, EVENT, ACK. CONNECT_ERROR is
#: the server's; BINARY_EVENT/BINARY_ACK ("5", "6") announce attachments that python-socketio
#: buffers without limit, and our protocol never needs bytes from a client.
_CLIENT_PACKET_TYPES = frozenset("0123")


def engineio_query_problem(query: str) -> str | None:
    """Why ``query`` is not a fresh Engine.IO 4 websocket handshake, or None.

    python-engineio checks these only after tornado accepted the websocket, and a refused
    query then left the socket open with nothing reading it.
    """
    fields = parse_qs(query, keep_blank_values=True)
    if fields.get("EIO") != ["4"]:
        return "webpty speaks Engine.IO 4 (EIO=4) only"
    if fields.get("transport") != ["websocket"]:
        return "webpty accepts the websocket transport only"
    if "sid" in fields or "j" in fields:
        return "webpty accepts only new websocket connections (no sid, no JSONP)"
    return None


def frame_problem(message: str | bytes) -> str | None:
    """Why an incoming websocket frame must close its connection (Engine.IO level), or None.

    Python-engineio's reader task dies on an empty frame, an unknown packet type, bad base64
    or data nested too deeply for ``json``; after that every frame of the connection queued
    forever. Clients never need binary frames (docs/protocol.md).
    """
    if isinstance(message, bytes) or message[:1] == "b":
        return "binary messages are not accepted"
    if message[:1] not in _ENGINEIO_TYPES:
        return "not an Engine.IO packet"
    if message[0] != "4" and len(message) > _SHORT_ENGINEIO_PACKET:
        return "unexpected Engine.IO packet"
    return None


def packet_problem(text: str) -> str | None:
    """Why the Socket.IO packet ``text`` must not reach python-socketio, or None.

    A packet python-socketio cannot decode raises inside Engine.IO's reader (a traceback in
    the log, no answer to the client), a binary one makes it buffer attachments, and a deeply
    nested one raises RecursionError. The caller closes the connection instead: a client that
    sends such a packet is broken or hostile, and closing costs the server nothing.
    """
    if not text or text[0] not in _CLIENT_PACKET_TYPES:
        return "binary or unknown Socket.IO packet"
    try:
        decoded = packet.Packet(encoded_packet=text)
    except (ValueError, RecursionError):
        return "malformed Socket.IO packet"
    data = decoded.data
    if decoded.packet_type == packet.EVENT and not (
        isinstance(data, list) and data and isinstance(data[0], str)
    ):
        return "a Socket.IO event needs a name"
    # Counting brackets (C speed) spares the walk for nearly every packet.
    if text.count("[") + text.count("{") > MAX_NESTING and _depth(data) > MAX_NESTING:
        return "Socket.IO packet nested too deeply"
    return None


def _depth(value: object) -> int:
    """How deeply ``value`` nests lists and dicts (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:  # one level past the limit is proof enough
                stack.extend((child, depth + 1) for child in item)
    return deepest

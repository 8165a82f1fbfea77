"""What a client may send before it reaches python-engineio: the query and each frame.

python-engineio's tornado driver checks the query only after accepting the websocket, and its
reader task dies on some frames, after which every frame of the connection queued forever
(docs/protocol.md, "Limits"). The socket handler (``sockethandler.py``) asks these first and
refuses the request or closes the connection instead.
"""

from __future__ import annotations

from urllib.parse import parse_qs

#: Engine.IO packet types a client may send without data beyond a few characters: CLOSE, PONG
#: ("3", "3probe"), UPGRADE, NOOP. Python-engineio decodes any data as JSON, unguarded.
_SHORT_ENGINEIO_PACKET = 16
_ENGINEIO_TYPES = frozenset("0123456")


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

"""terminado's JSON frames, client to server, parsed from untrusted text.

terminado (``websocket.py``, ``TermSocket.on_message``) reads ``["stdin", text]`` and
``["set_size", rows, cols, ...]`` (JupyterLab adds the pixel height and width) and ignores other
message types; it trusts the rest (a bad frame raises inside the handler). Here a frame that
terminado would act on gives the same request, a frame it ignores gives None, and a frame it
would choke on raises :class:`FrameError` with a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import protocol

#: Digits worth parsing in a JSON number (Python refuses int() of more than
#: 4300, ``sys.int_info.str_digits_check_threshold``).
_MAX_INT_DIGITS = 30


class FrameError(ValueError):
    """A frame is not terminado JSON the server can act on; the message says why."""


@dataclass(frozen=True)
class Resize:
    """``["set_size", rows, cols, ...]``: note terminado's order, rows first."""

    rows: int
    cols: int


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= _MAX_INT_DIGITS else float("inf")


def _size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"set_size: {what} must be an integer, got {type(value).__name__}"
        raise FrameError(msg)
    # Clamped rather than refused: a huge window is no reason to drop the connection.
    return min(max(value, protocol.MIN_SIZE), protocol.MAX_SIZE)


def parse_frame(message: str | bytes) -> str | Resize | None:
    """The text to type, the size to set, or None for a frame terminado ignores."""
    try:
        frame = json.loads(message, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        msg = "frame is not JSON"
        raise FrameError(msg) from exc
    if not isinstance(frame, list) or not frame or not isinstance(frame[0], str):
        msg = "frame must be a JSON array starting with its type"
        raise FrameError(msg)
    kind = frame[0]
    if kind == "stdin":
        if len(frame) < 2 or not isinstance(frame[1], str):
            msg = "stdin: the data must be a string"
            raise FrameError(msg)
        return frame[1]
    if kind == "set_size":
        if len(frame) < 3:
            msg = "set_size: give rows and cols"
            raise FrameError(msg)
        return Resize(rows=_size(frame[1], "rows"), cols=_size(frame[2], "cols"))
    return None

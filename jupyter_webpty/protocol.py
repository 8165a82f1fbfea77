"""The wire protocol: Socket.IO path, event names, limits and payload shapes.

This module and ``labextension/src/protocol.ts`` are the only two places that spell the
protocol; ``tests/test_protocol.py`` keeps them equal. ``docs/protocol.md`` is the prose
contract. Parsing helpers turn untrusted event data into typed requests or raise
:class:`ProtocolError` with a message fit to show the user.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypedDict

# Only for annotations: at run time this module imports no package module. (``typing.``: an
# upper-case name here would count as a wire constant in tests/test_protocol.py.)
if typing.TYPE_CHECKING:
    from .core import CommandRecord, PtySession

#: Socket.IO path below the server's ``base_url`` (no leading or trailing slash).
SOCKETIO_PATH = "webpty/socket.io"
#: REST collection below the server's ``base_url``.
API_PATH = "webpty/api/sessions"

# Client to server.
CREATE = "terminal:create"
INPUT = "terminal:input"
RESIZE = "terminal:resize"
CLOSE = "terminal:close"
LIST = "terminal:list"
RECONNECT = "terminal:reconnect"
DETACH = "terminal:detach"
ACK = "terminal:ack"
RENAME = "terminal:rename"
# Server to client.
OUTPUT = "terminal:output"
ERROR = "terminal:error"
EXIT = "terminal:exit"
CHANGED = "terminal:changed"
#: A command started or finished in a session with shell integration (``CommandEvent``).
COMMAND = "terminal:command"
COMMAND_STARTED = "started"
COMMAND_FINISHED = "finished"

#: ``terminal:exit`` ``reason`` when the server ended the shell because the server is stopping
#: (absent otherwise): the page can say so instead of a bare "ended".
EXIT_REASON_SHUTDOWN = "shutdown"

CLIENT_EVENTS = (CREATE, INPUT, RESIZE, CLOSE, LIST, RECONNECT, DETACH, ACK, RENAME)
#: Client events a client sends without asking for a reply (no ack id): their failures come
#: back as ``terminal:error``, and the server may handle them on its fast path, in arrival
#: order (docs/protocol.md, "Order").
NO_ACK_EVENTS = frozenset({INPUT, RESIZE, ACK})
SERVER_EVENTS = (OUTPUT, ERROR, EXIT, CHANGED, COMMAND)

#: Bounds for ``cols`` and ``rows`` (also for a notebook output's ``height`` in rows).
MIN_SIZE = 1
MAX_SIZE = 1000
#: Rows of a notebook output (``%webterm``, the widget) that gives no height.
DEFAULT_ROWS = 20

#: The notebook output's mime type: its data names a session (docs/protocol.md, "Outputs").
MIME_TYPE = "application/vnd.jupyter.webpty.terminal+json"
#: The ipywidget's ``_model_module``/``_view_module`` (its version is the package's).
WIDGET_MODULE = "jupyter-webpty"
#: Most characters in one ``terminal:input`` (JSON-escaped it stays below 1 MB).
MAX_INPUT_CHARS = 65_536
#: Longest session name.
MAX_NAME_CHARS = 128
#: Longest ``cwd`` request.
MAX_PATH_CHARS = 4096
#: Engine.IO's limit on one incoming message, bytes.
MAX_MESSAGE_BYTES = 1_000_000
#: With ``"text": true`` in ``create``/``reconnect``, an output chunk of at most this many bytes
#: that is valid UTF-8 comes as a string in one frame, not as a binary attachment in a second
#: one (docs/protocol.md, "Output as text"). Echo and prompts are; a flood's chunks are larger.
MAX_TEXT_OUTPUT_BYTES = 4096


class ProtocolError(ValueError):
    """An event's payload is malformed; the message says what is wrong."""


class SessionInfo(TypedDict):
    """One entry of ``terminal:list`` and of the REST listing."""

    session_id: str
    name: str
    created_at: str
    last_activity: str
    cwd: str | None
    cols: int
    rows: int
    clients: int
    command: str | None
    #: The command line running now, from the shell's marks (None: none, or not integrated).
    running_command: str | None
    #: Exit code of the last finished command, from the shell's marks.
    last_exit_code: int | None
    #: Whether the session's shell was started with our integration (marks expected).
    shell_integration: bool


class CommandInfo(TypedDict):
    """One command of a session's log (REST ``.../commands``, ``terminal:command``).

    ``start`` and ``end`` are offsets in the session's output stream (``end`` is None while the
    command runs); ``exit_code`` is None while it runs or when the shell reported none.
    """

    seq: int
    command: str | None
    cwd: str | None
    start: int
    end: int | None
    exit_code: int | None
    started_at: str
    duration: float | None


class CommandEvent(TypedDict):
    """``terminal:command`` payload, sent to the owner's connections."""

    session_id: str
    event: str
    command: CommandInfo


class CommandLog(TypedDict):
    """REST ``GET .../sessions/{id}/commands``: the log, and the stream's retained range."""

    commands: list[CommandInfo]
    shell_integration: bool
    has_prompted: bool
    retained_from: int
    end: int


class OutputText(TypedDict):
    """REST ``GET .../sessions/{id}/output?start=&end=``: text of an output range.

    ``truncated`` says that the range's beginning fell out of retention (``start`` is then
    later than asked).
    """

    text: str
    start: int
    end: int
    truncated: bool


@dataclass(frozen=True)
class CreateRequest:
    """``terminal:create`` payload."""

    cols: int
    rows: int
    name: str | None
    cwd: str | None
    text: bool = False  # small output chunks may come as strings (MAX_TEXT_OUTPUT_BYTES)


@dataclass(frozen=True)
class SessionRef:
    """A payload naming one session: ``terminal:close``, ``terminal:detach``."""

    session_id: str


@dataclass(frozen=True)
class InputRequest:
    """``terminal:input`` payload."""

    session_id: str
    data: str


@dataclass(frozen=True)
class ResizeRequest:
    """``terminal:resize`` payload."""

    session_id: str
    cols: int
    rows: int


@dataclass(frozen=True)
class RenameRequest:
    """``terminal:rename`` payload."""

    session_id: str
    name: str


@dataclass(frozen=True)
class AckRequest:
    """``terminal:ack`` payload: output up to ``offset`` was processed."""

    session_id: str
    offset: int


@dataclass(frozen=True)
class ReconnectRequest:
    """``terminal:reconnect`` payload: a session by id or by name, and where to resume."""

    session_id: str | None
    name: str | None
    offset: int | None
    cols: int | None
    rows: int | None
    text: bool = False  # as CreateRequest.text


def _mapping(data: object) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"payload must be an object, not {type(data).__name__}"
        raise ProtocolError(msg)
    return data


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    # bool is an int subclass; a float such as 80.0 is refused too (NaN, inf included).
    if isinstance(value, bool) or not isinstance(value, int):
        shown = "missing" if value is None else type(value).__name__
        if isinstance(value, float) and not math.isfinite(value):
            shown = repr(value)
        msg = f"'{key}' must be an integer, got {shown}"
        raise ProtocolError(msg)
    if not low <= value <= high:
        msg = f"'{key}' must be between {low} and {high}, got {value}"
        raise ProtocolError(msg)
    return value


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        shown = "missing" if value is None else type(value).__name__
        msg = f"'{key}' must be a string, got {shown}"
        raise ProtocolError(msg)
    if len(value) > limit:
        msg = f"'{key}' is longer than {limit} characters"
        raise ProtocolError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates can arrive through JSON \ud800 escapes.
        msg = f"'{key}' is not valid Unicode text"
        raise ProtocolError(msg) from exc
    return value


def _session_id(data: dict[str, Any]) -> str:
    value = _text(data, "session_id", 128, required=True)
    assert value is not None  # noqa: S101 - required=True never returns None
    return value


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        msg = f"'{key}' must be true or false, got {type(value).__name__}"
        raise ProtocolError(msg)
    return value


def _name(data: dict[str, Any]) -> str | None:
    name = _text(data, "name", MAX_NAME_CHARS, required=False)
    if name is not None and (not name.strip() or not name.isprintable()):
        msg = "'name' must be printable and not blank"
        raise ProtocolError(msg)
    return name


def parse_create(data: object) -> CreateRequest:
    """Validate a ``terminal:create`` payload."""
    body = _mapping(data)
    return CreateRequest(
        cols=_int(body, "cols", MIN_SIZE, MAX_SIZE),
        rows=_int(body, "rows", MIN_SIZE, MAX_SIZE),
        name=_name(body),
        cwd=_text(body, "cwd", MAX_PATH_CHARS, required=False),
        text=_flag(body, "text"),
    )


def parse_session_ref(data: object) -> SessionRef:
    """Validate a payload that only names a session."""
    return SessionRef(session_id=_session_id(_mapping(data)))


def parse_input(data: object) -> InputRequest:
    """Validate a ``terminal:input`` payload."""
    body = _mapping(data)
    text = _text(body, "data", MAX_INPUT_CHARS, required=True)
    assert text is not None  # noqa: S101 - required=True never returns None
    return InputRequest(session_id=_session_id(body), data=text)


def parse_resize(data: object) -> ResizeRequest:
    """Validate a ``terminal:resize`` payload."""
    body = _mapping(data)
    return ResizeRequest(
        session_id=_session_id(body),
        cols=_int(body, "cols", MIN_SIZE, MAX_SIZE),
        rows=_int(body, "rows", MIN_SIZE, MAX_SIZE),
    )


def parse_rename(data: object) -> RenameRequest:
    """Validate a ``terminal:rename`` payload."""
    body = _mapping(data)
    name = _name(body)
    if name is None:
        msg = "'name' must be a string, got missing"
        raise ProtocolError(msg)
    return RenameRequest(session_id=_session_id(body), name=name)


def parse_ack(data: object) -> AckRequest:
    """Validate a ``terminal:ack`` payload."""
    body = _mapping(data)
    return AckRequest(session_id=_session_id(body), offset=_int(body, "offset", 0, 2**62))


def parse_reconnect(data: object) -> ReconnectRequest:
    """Validate a ``terminal:reconnect`` payload; one of ``session_id`` or ``name`` is needed."""
    body = _mapping(data)
    session_id = _text(body, "session_id", 128, required=False)
    name = _name(body)
    if session_id is None and name is None:
        msg = "give 'session_id' or 'name'"
        raise ProtocolError(msg)
    offset = None if body.get("offset") is None else _int(body, "offset", 0, 2**62)
    cols = rows = None
    if body.get("cols") is not None or body.get("rows") is not None:
        cols = _int(body, "cols", MIN_SIZE, MAX_SIZE)
        rows = _int(body, "rows", MIN_SIZE, MAX_SIZE)
    return ReconnectRequest(
        session_id=session_id,
        name=name,
        offset=offset,
        cols=cols,
        rows=rows,
        text=_flag(body, "text"),
    )


def parse_list(data: object) -> None:
    """Validate a ``terminal:list`` payload (an empty object or nothing)."""
    _mapping(data)


# -- Core objects as clients see them (terminal:list, REST). Annotations only: the session
# and the record are read by attribute, so no core module is imported at run time.
def describe_time(timestamp: float) -> str:
    """A time on the wire: ISO 8601 in UTC, from a ``time.time()`` value."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def describe(session: PtySession) -> SessionInfo:
    """The public description of a session (``terminal:list`` and REST)."""
    command, cwd = session.foreground()
    running = session.output.running_command
    return {
        "session_id": session.id,
        "name": session.name,
        "created_at": describe_time(session.created_at),
        "last_activity": describe_time(session.last_activity),
        "cwd": cwd,
        "cols": session.cols,
        "rows": session.rows,
        "clients": session.clients,
        "command": command,
        "running_command": running.command if running is not None else None,
        "last_exit_code": session.output.last_exit_code,
        "shell_integration": session.integrated,
    }


def command_info(record: CommandRecord) -> CommandInfo:
    """The public description of one command of a session's log."""
    return {
        "seq": record.seq,
        "command": record.command,
        "cwd": record.cwd,
        "start": record.start,
        "end": record.end,
        "exit_code": record.exit_code,
        "started_at": describe_time(record.started_at),
        "duration": record.duration,
    }

/**
 * The wire protocol: Socket.IO path, event names, limits and payload shapes.
 *
 * This module and `jupyter_webpty/protocol.py` are the only two places that
 * spell the protocol; `tests/test_protocol.py` parses the `export const`
 * lines below (one per line, literal values) and compares them with the
 * Python constants. `docs/protocol.md` is the prose contract.
 */

/** Socket.IO path below the server's base URL (no leading or trailing slash). */
export const SOCKETIO_PATH = 'webpty/socket.io';
/** REST collection below the server's base URL. */
export const API_PATH = 'webpty/api/sessions';

// Client to server.
export const CREATE = 'terminal:create';
export const INPUT = 'terminal:input';
export const RESIZE = 'terminal:resize';
export const CLOSE = 'terminal:close';
export const LIST = 'terminal:list';
export const RECONNECT = 'terminal:reconnect';
export const DETACH = 'terminal:detach';
export const ACK = 'terminal:ack';
export const RENAME = 'terminal:rename';
// Server to client.
export const OUTPUT = 'terminal:output';
export const ERROR = 'terminal:error';
export const EXIT = 'terminal:exit';
export const CHANGED = 'terminal:changed';
/** A command started or finished (shell integration): `ICommandEvent`. */
export const COMMAND = 'terminal:command';
export const COMMAND_STARTED = 'started';
export const COMMAND_FINISHED = 'finished';
/** `terminal:exit` `reason` when the server ended the shell because it is stopping. */
export const EXIT_REASON_SHUTDOWN = 'shutdown';

/** Bounds for `cols` and `rows` (also for a notebook output's `height` in rows). */
export const MIN_SIZE = 1;
export const MAX_SIZE = 1000;
/** Rows of a notebook output (`%webterm`, the widget) that gives no height. */
export const DEFAULT_ROWS = 20;

/** The notebook output's mime type: its data names a session. */
export const MIME_TYPE = 'application/vnd.jupyter.webpty.terminal+json';
/** The ipywidget's `_model_module`/`_view_module` (its version is the package's). */
export const WIDGET_MODULE = 'jupyter-webpty';
/** Most characters in one `terminal:input` (JSON-escaped it stays below 1 MB). */
export const MAX_INPUT_CHARS = 65536;
/** Longest session name. */
export const MAX_NAME_CHARS = 128;
/** Longest `cwd` request. */
export const MAX_PATH_CHARS = 4096;
/** Engine.IO's limit on one incoming message, bytes. */
export const MAX_MESSAGE_BYTES = 1000000;
/** Most bytes of an output chunk the server sends as text (`text: true`). */
export const MAX_TEXT_OUTPUT_BYTES = 4096;

/** A failed request's acknowledgement. */
export interface IFailure {
  success: false;
  error: string;
}

/** One entry of `terminal:list` and of the REST listing. */
export interface ISessionInfo {
  session_id: string;
  name: string;
  /** ISO 8601 UTC. */
  created_at: string;
  /** ISO 8601 UTC. */
  last_activity: string;
  /** The shell's current directory, read live. */
  cwd: string | null;
  cols: number;
  rows: number;
  /** Number of attached connections. */
  clients: number;
  /** Foreground process name. */
  command: string | null;
  /** The command line running now, from the shell's marks. */
  running_command: string | null;
  /** Exit code of the last finished command, from the shell's marks. */
  last_exit_code: number | null;
  /** Whether the shell was started with shell integration. */
  shell_integration: boolean;
}

/** One command of a session's log (offsets in the output stream; `end` null while running). */
export interface ICommandInfo {
  seq: number;
  command: string | null;
  cwd: string | null;
  start: number;
  end: number | null;
  exit_code: number | null;
  /** ISO 8601 UTC. */
  started_at: string;
  /** Seconds; null while running. */
  duration: number | null;
}

/** `terminal:command` payload. */
export interface ICommandEvent {
  session_id: string;
  event: typeof COMMAND_STARTED | typeof COMMAND_FINISHED;
  command: ICommandInfo;
}

/** `terminal:create` payload. */
export interface ICreateRequest {
  cols: number;
  rows: number;
  name?: string;
  cwd?: string;
  /** Small output chunks that are valid UTF-8 may come as strings (one frame each). */
  text?: boolean;
}

/** `terminal:create` acknowledgement. */
export interface ICreateReply {
  success: true;
  session_id: string;
  name: string;
  created_at: string;
  offset: number;
  cols: number;
  rows: number;
}

/** `terminal:reconnect` payload: a session by id or by name, and where to resume. */
export interface IReconnectRequest {
  session_id?: string;
  name?: string;
  offset?: number;
  cols?: number;
  rows?: number;
  /** As in `ICreateRequest`. */
  text?: boolean;
}

/** `terminal:reconnect` acknowledgement. */
export interface IReconnectReply {
  success: true;
  session_id: string;
  name: string;
  created_at: string;
  /** Where the outputs that follow start. */
  offset: number;
  /** Stream position at the time of the ack. */
  end: number;
  /** The client must reset its terminal and write `preamble` first. */
  truncated: boolean;
  preamble: string;
  cols: number;
  rows: number;
}

/** `terminal:list` acknowledgement. */
export interface IListReply {
  success: true;
  sessions: ISessionInfo[];
}

/** A payload naming one session: `terminal:close`, `terminal:detach`. */
export interface ISessionRef {
  session_id: string;
}

/** `terminal:input` payload. */
export interface IInputRequest {
  session_id: string;
  data: string;
}

/** `terminal:resize` payload. */
export interface IResizeRequest {
  session_id: string;
  cols: number;
  rows: number;
}

/** `terminal:ack` payload: output up to `offset` was processed. */
export interface IAckRequest {
  session_id: string;
  offset: number;
}

/**
 * `terminal:output` payload; `offset` is the stream position of the end of
 * `data`. With `truncated: true` (and empty `data`) it is a resynchronisation:
 * reset, write `preamble`, and the next outputs start at `offset`.
 */
export interface IOutputEvent {
  session_id: string;
  /** Bytes; a string (their UTF-8 text) for a small chunk when asked with `text`. */
  data: ArrayBuffer | Uint8Array | string;
  offset: number;
  truncated?: boolean;
  preamble?: string;
}

/** `terminal:error` payload. */
export interface IErrorEvent {
  session_id: string | null;
  error: string;
}

/** `terminal:exit` payload; a negative code means killed by that signal. */
export interface IExitEvent {
  session_id: string;
  exit_code: number | null;
  /** `EXIT_REASON_SHUTDOWN` when the server stopped; absent otherwise. */
  reason?: string;
}

/** Any acknowledgement: the success shape or a failure. */
export type Reply<T> = T | IFailure;

/**
 * One terminal session seen through the page's shared Socket.IO connection.
 *
 * No DOM here: a consumer (TerminalView, a test) writes each `output` chunk to
 * a terminal and calls its `done()` when written, obeys `reset`, and shows
 * status changes. Resume is lossless: the connection remembers the end offset
 * of the last chunk it handed over and asks the server for what follows.
 */
import { attach, AttachResult } from './attach';
import { Emitter, IDisposable } from './emitter';
import * as protocol from './protocol';
import {
  acquireSocket,
  IServerOptions,
  ISocketLease,
  ISocketLike
} from './sockets';
import { clampSize, OutputStream, splitInput, toBytes } from './stream';
import {
  GoneReason,
  IOutputChunk,
  IResetRequest,
  ISessionIdentity,
  ITerminalStatus
} from './tokens';

export * from './tokens';

/** Wait before retrying an attach that timed out while connected, ms. */
export const RETRY_DELAY = 2000;
/** Most output events kept while an attach is in flight. */
const MAX_EARLY_EVENTS = 1000;

/**
 * A terminal session bound by name or id, attached whenever the socket is up.
 *
 * A session the connection *knew* is never replaced silently. It knows a
 * session id once it attached to it, or when the host gave one
 * (`sessionId`: a tab restored with the id it saved). From then on it
 * re-attaches by that id only, never by name and never by creating: if the
 * server no longer has the id (it restarted, or the session was closed while
 * the page was away), or the server ended the shell because it was stopping,
 * the status becomes `gone` and the shell and its jobs are reported lost. Only
 * `restart()` (the user pressing Enter) then attaches by name or creates. A
 * name alone (a fresh `%webterm` output, a notebook output after a page
 * reload, the panel's New button) is not knowing: it attaches by name and
 * creates when allowed, as the first open of a terminal does.
 */
export class TerminalConnection implements IDisposable {
  constructor(options: TerminalConnection.IOptions) {
    if (options.socket) {
      this._socket = options.socket;
    } else if (options.baseUrl) {
      // Claim the session: another view of it gets another socket.
      const claims = [
        options.name ? `name:${options.name}` : '',
        options.sessionId ? `id:${options.sessionId}` : ''
      ].filter(Boolean);
      this._lease = acquireSocket(options as IServerOptions, claims);
      this._socket = this._lease.socket;
    } else {
      throw new Error('TerminalConnection needs a socket or a baseUrl');
    }
    this._name = options.name ?? undefined;
    this._sessionId = options.sessionId ?? undefined;
    this._known = this._sessionId !== undefined;
    this._cwd = options.cwd ?? undefined;
    // Nothing to look up means "a new terminal".
    this._create =
      options.create ??
      (this._name === undefined && this._sessionId === undefined);
    for (const [event, handler] of this._handlers) {
      this._socket.on(event, handler);
    }
  }

  /** Output to write, in order, without duplicates. */
  readonly output = new Emitter<IOutputChunk>();
  /** The terminal must be reset (a restored screen or a new session). */
  readonly reset = new Emitter<IResetRequest>();
  /** Status changes. */
  readonly statusChanged = new Emitter<ITerminalStatus>();
  /** Each successful attach, with the session's identity. */
  readonly attached = new Emitter<ISessionIdentity>();
  /** A `terminal:error` about this session: worth showing, not fatal. */
  readonly message = new Emitter<string>();

  /** The current status. */
  get status(): ITerminalStatus {
    return this._status;
  }

  /** The session's id once attached (undefined before, and after it exited). */
  get sessionId(): string | undefined {
    return this._sessionId;
  }

  /** The session's name, as given or as learnt at attach. */
  get name(): string | undefined {
    return this._name;
  }

  /** Start attaching with the terminal's size; call once output can be written. */
  open(cols: number, rows: number): void {
    this._size = clampSize(cols, rows);
    if (this._opened || this._disposed) {
      return;
    }
    this._opened = true;
    if (this._socket.connected) {
      void this._attach();
    }
  }

  /** Type `data`: split to fit one message, queued until attached. */
  write(data: string): void {
    if (this._disposed || this._isEnded() || !data) {
      return;
    }
    const pieces = splitInput(data);
    if (this._attached) {
      for (const piece of pieces) {
        this._send(protocol.INPUT, { data: piece });
      }
    } else {
      this._queue.push(...pieces);
    }
  }

  /** The terminal's size changed. */
  resize(cols: number, rows: number): void {
    this._size = clampSize(cols, rows);
    this._sendSize();
  }

  /** Attach again after an exit, a loss or an error; creates the session if needed. */
  restart(): void {
    if (this._disposed) {
      return;
    }
    this._create = true;
    this._opened = true;
    if (this._socket.connected) {
      void this._attach();
    } else {
      this._setStatus({ state: 'connecting' });
    }
  }

  /** Detach (the session keeps running) and drop the socket reference. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    if (this._attached) {
      this._send(protocol.DETACH, {});
    }
    this._disposed = true;
    this._detached();
    for (const [event, handler] of this._handlers) {
      this._socket.off(event, handler);
    }
    this._lease?.release();
    this.output.dispose();
    this.reset.dispose();
    this.statusChanged.dispose();
    this.attached.dispose();
    this.message.dispose();
  }

  private async _attach(): Promise<void> {
    this._detached();
    const epoch = this._epoch;
    this._attaching = true;
    this._setStatus({ state: this._hadAttach ? 'reconnecting' : 'connecting' });
    let result: AttachResult;
    // A known session is looked up by its id alone: by name, or by
    // creating, we would show another shell as if it were the same one.
    const known = this._known && this._sessionId !== undefined;
    try {
      result = await attach(this._socket, {
        sessionId: this._sessionId,
        name: known ? undefined : this._name,
        offset: this._stream.received,
        create: known ? false : this._create,
        cwd: this._cwd,
        ...this._size
      });
    } catch (error) {
      if (epoch === this._epoch) {
        // Timed out while connected: try again (a disconnect also restarts).
        this._attaching = false;
        this._early = [];
        const message = (error as Error).message ?? String(error);
        this._setStatus({ state: 'reconnecting', message });
        this._retry = setTimeout(() => {
          if (epoch === this._epoch && this._socket.connected) {
            void this._attach();
          }
        }, RETRY_DELAY);
      }
      return;
    }
    if (epoch !== this._epoch) {
      return; // Disconnected or disposed meanwhile.
    }
    this._attaching = false;
    if (result.reply.success) {
      this._attachedTo(result.created, result.reply);
    } else if (known) {
      // The protocol has no "not found" code; for a well-formed reconnect
      // by id, not found is the failure there is.
      this._gone('missing');
    } else {
      this._early = [];
      this._setStatus({ state: 'error', message: result.reply.error });
    }
  }

  private _attachedTo(
    created: boolean,
    reply: protocol.ICreateReply | protocol.IReconnectReply
  ): void {
    if (reply.session_id !== this._sessionId) {
      this._stream.forget(); // Another stream: our offset means nothing there.
    }
    this._sessionId = reply.session_id;
    this._known = true;
    this._name = reply.name;
    this._lease?.claim(`name:${reply.name}`);
    this._lease?.claim(`id:${reply.session_id}`);
    const truncated = 'truncated' in reply && reply.truncated;
    if (created || truncated || this._stream.received === null) {
      const preamble = 'preamble' in reply ? reply.preamble || '' : '';
      this._stream.reset(reply.offset);
      this.reset.fire({ preamble, offset: reply.offset });
    }
    this._attached = true;
    this._hadAttach = true;
    this._sentSize = { cols: reply.cols, rows: reply.rows };
    this._setStatus({ state: 'connected' });
    this.attached.fire({ session_id: reply.session_id, name: reply.name });
    // Output that raced the acknowledgement, then input typed meanwhile.
    const early = this._early;
    this._early = [];
    early.forEach(this._onOutput);
    const queue = this._queue;
    this._queue = [];
    for (const piece of queue) {
      this._send(protocol.INPUT, { data: piece });
    }
    this._sendSize();
  }

  /** Not attached any more; replies to requests in flight are now stale. */
  private _detached(): void {
    this._epoch++;
    this._attached = false;
    this._attaching = false;
    this._early = [];
    clearTimeout(this._retry);
  }

  private _onOutput = (event: protocol.IOutputEvent): void => {
    if (!event || typeof event.offset !== 'number') {
      return;
    }
    if (this._attaching) {
      // Attaching by name, we do not know the id yet: keep all, filter later.
      if (this._early.length < MAX_EARLY_EVENTS) {
        this._early.push(event);
      }
      return;
    }
    if (!this._attached || event.session_id !== this._sessionId) {
      return;
    }
    if (event.truncated) {
      // Resynchronisation: we fell behind what the server still retains.
      this._stream.reset(event.offset);
      this.reset.fire({ preamble: event.preamble ?? '', offset: event.offset });
      return;
    }
    const data = this._stream.accept(toBytes(event.data), event.offset);
    if (data === null) {
      return;
    }
    const { offset } = event;
    const generation = this._stream.generation;
    this.output.fire({
      data,
      offset,
      done: () => {
        const ack = this._stream.processed(generation, offset);
        if (ack !== null && this._attached) {
          this._send(protocol.ACK, { offset: ack });
        }
      }
    });
  };

  private _onExit = (event: protocol.IExitEvent): void => {
    if (!event || event.session_id !== this._sessionId) {
      return;
    }
    if (event.reason === protocol.EXIT_REASON_SHUTDOWN) {
      this._gone('shutdown');
      return;
    }
    this._forget();
    this._setStatus({ state: 'exited', exitCode: event.exit_code });
  };

  /** The known session is lost with its jobs; wait for `restart()`. */
  private _gone(reason: GoneReason): void {
    this._forget();
    this._setStatus({ state: 'gone', reason });
  }

  /** Drop the session: nothing to resume, nothing to send it. */
  private _forget(): void {
    this._detached();
    this._sessionId = undefined;
    this._known = false;
    this._stream.forget();
    this._queue = [];
  }

  /** The session ended (exited or gone): only `restart()` attaches again. */
  private _isEnded(): boolean {
    const { state } = this._status;
    return state === 'exited' || state === 'gone';
  }

  private _onError = (event: protocol.IErrorEvent): void => {
    if (event && event.session_id && event.session_id === this._sessionId) {
      this.message.fire(event.error);
    }
  };

  private _onConnect = (): void => {
    if (this._opened && !this._isEnded()) {
      void this._attach();
    }
  };

  private _onDisconnect = (): void => {
    this._detached();
    if (this._opened && !this._isEnded()) {
      this._setStatus({
        state: this._hadAttach ? 'reconnecting' : 'connecting'
      });
    }
  };

  private _onConnectError = (error: Error): void => {
    if (!this._opened || this._isEnded()) {
      return;
    }
    const message = error?.message ?? String(error);
    // `active` false: socket.io gave up (e.g. refused by a middleware).
    const state = !this._socket.active
      ? 'error'
      : this._hadAttach
        ? 'reconnecting'
        : 'connecting';
    this._setStatus({ state, message });
  };

  private _sendSize(): void {
    const { cols, rows } = this._size;
    const sent = this._sentSize;
    if (this._attached && (sent.cols !== cols || sent.rows !== rows)) {
      this._sentSize = { cols, rows };
      this._send(protocol.RESIZE, { cols, rows });
    }
  }

  /** Emit `event` about our session (adds `session_id`). */
  private _send(event: string, data: object): void {
    this._socket.emit(event, { session_id: this._sessionId, ...data });
  }

  private _setStatus(status: ITerminalStatus): void {
    const old = this._status;
    if (
      old.state !== status.state ||
      old.message !== status.message ||
      old.exitCode !== status.exitCode ||
      old.reason !== status.reason
    ) {
      this._status = status;
      this.statusChanged.fire(status);
    }
  }

  private readonly _socket: ISocketLike;
  private readonly _lease?: ISocketLease;
  private readonly _handlers: Array<[string, (...args: any[]) => void]> = [
    [protocol.OUTPUT, this._onOutput],
    [protocol.EXIT, this._onExit],
    [protocol.ERROR, this._onError],
    ['connect', this._onConnect],
    ['disconnect', this._onDisconnect],
    ['connect_error', this._onConnectError]
  ];
  private readonly _cwd: string | undefined;
  private readonly _stream = new OutputStream();
  private _name: string | undefined;
  private _sessionId: string | undefined;
  /** `_sessionId` is a session we knew (see the class comment), not a guess. */
  private _known: boolean;
  private _create: boolean;
  private _status: ITerminalStatus = { state: 'connecting' };
  private _size = { cols: 80, rows: 24 };
  private _sentSize = { cols: 0, rows: 0 };
  private _opened = false;
  private _disposed = false;
  private _attached = false;
  private _attaching = false;
  private _hadAttach = false;
  private _epoch = 0;
  private _retry: ReturnType<typeof setTimeout> | undefined;
  private _early: protocol.IOutputEvent[] = [];
  private _queue: string[] = [];
}

/** Types for {@link TerminalConnection}. */
export namespace TerminalConnection {
  /** Which session, and how to reach the server. */
  export interface IOptions extends Partial<IServerOptions> {
    /** A socket to use instead of the page's shared one (tests, custom hosts). */
    socket?: ISocketLike;
    /** Attach to the session with this name. */
    name?: string | null;
    /**
     * Attach to the session with this id (tried before `name`). An id is
     * knowing the session: if it is gone, nothing is created until `restart()`.
     */
    sessionId?: string | null;
    /** Create the session when missing; default: when neither name nor id is given. */
    create?: boolean;
    /** Working directory for a created session, relative to the server root. */
    cwd?: string | null;
  }
}

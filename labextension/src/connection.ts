/**
 * One terminal session seen through the shared Socket.IO connection.
 *
 * No DOM here: a consumer (TerminalView, a test) writes `output` chunks to a
 * terminal, calls `processed(offset)` when each is written, and gets resets
 * and status changes. Resume is lossless: the connection remembers the end
 * offset of the last chunk it handed over and asks the server for what follows.
 */
import { Emitter, IDisposable } from './emitter';
import * as protocol from './protocol';
import { acquireSocket, IServerOptions, ISocketLike, request } from './sockets';

/** Life cycle as shown to the user. */
export type TerminalState =
  'connecting' | 'connected' | 'reconnecting' | 'exited' | 'error';

/** A state plus what explains it. */
export interface ITerminalStatus {
  state: TerminalState;
  /** With `exited`: the shell's code (negative: killed by that signal). */
  exitCode?: number | null;
  /** With `error` (and `connecting`/`reconnecting` when a try failed). */
  message?: string;
}

/** Output bytes and the stream position of their end. */
export interface IOutputChunk {
  data: Uint8Array;
  offset: number;
  /** Call once `data` is written (an xterm write callback): drives acks. */
  done(): void;
}

/** Reset the terminal, then write `preamble`; following output starts at `offset`. */
export interface IResetRequest {
  preamble: string;
  offset: number;
}

/** Which session the connection is bound to, once known. */
export interface ISessionIdentity {
  session_id: string;
  name: string;
}

/** Acknowledge processed output at least this often, bytes (the protocol asks for 64 KiB). */
export const ACK_INTERVAL = 64 * 1024;
/** Wait before retrying an attach that timed out while connected, ms. */
export const RETRY_DELAY = 2000;
/** Most output events kept while an attach is in flight. */
const MAX_EARLY_EVENTS = 1000;

/**
 * Split `data` into pieces of at most `limit` UTF-16 units, never between the
 * halves of a surrogate pair (the server refuses lone surrogates).
 */
export function splitInput(
  data: string,
  limit = protocol.MAX_INPUT_CHARS
): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + limit, data.length);
    const last = data.charCodeAt(end - 1);
    if (
      end < data.length &&
      end - start > 1 &&
      last >= 0xd800 &&
      last <= 0xdbff
    ) {
      end--;
    }
    pieces.push(data.slice(start, end));
    start = end;
  }
  return pieces;
}

/** A terminal session bound by name or id, attached whenever the socket is up. */
export class TerminalConnection implements IDisposable {
  constructor(options: TerminalConnection.IOptions) {
    if (options.socket) {
      this._socket = options.socket;
    } else {
      if (!options.baseUrl) {
        throw new Error('TerminalConnection needs a socket or a baseUrl');
      }
      const lease = acquireSocket({
        baseUrl: options.baseUrl,
        token: options.token
      });
      this._socket = lease.socket;
      this._release = lease.release;
    }
    this._name = options.name ?? undefined;
    this._sessionId = options.sessionId ?? undefined;
    this._cwd = options.cwd ?? undefined;
    // Nothing to look up means "a new terminal".
    this._create =
      options.create ??
      (this._name === undefined && this._sessionId === undefined);
    for (const [event, handler] of this._handlers) {
      this._socket.on(event, handler);
    }
  }

  /** Output to write, in order, already deduplicated. */
  readonly output = new Emitter<IOutputChunk>();
  /** The terminal must be reset (a restore or a new session). */
  readonly reset = new Emitter<IResetRequest>();
  /** Status changes. */
  readonly statusChanged = new Emitter<ITerminalStatus>();
  /** Each successful attach, with the session's identity. */
  readonly attached = new Emitter<ISessionIdentity>();
  /** A `terminal:error` about this session: worth showing, not fatal. */
  readonly message = new Emitter<string>();

  get status(): ITerminalStatus {
    return this._status;
  }

  /** The session's id once attached (undefined before, and after it exited). */
  get sessionId(): string | undefined {
    return this._sessionId;
  }

  get name(): string | undefined {
    return this._name;
  }

  /** End offset of the last chunk handed to `output` (null: nothing yet). */
  get receivedOffset(): number | null {
    return this._received;
  }

  get isAttached(): boolean {
    return this._attached;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Start attaching with the terminal's size; call once the consumer can write. */
  open(cols: number, rows: number): void {
    this._size = Private.clampSize(cols, rows);
    if (this._opened || this._disposed) {
      return;
    }
    this._opened = true;
    if (this._socket.connected) {
      void this._attach();
    }
  }

  /** Type `data`; queued until attached, split to fit one message. */
  write(data: string): void {
    if (this._disposed || this._status.state === 'exited' || !data) {
      return;
    }
    const pieces = splitInput(data);
    if (!this._attached) {
      this._queue.push(...pieces);
      return;
    }
    for (const piece of pieces) {
      this._emit(protocol.INPUT, { session_id: this._sessionId!, data: piece });
    }
  }

  /** The terminal's size changed. */
  resize(cols: number, rows: number): void {
    this._size = Private.clampSize(cols, rows);
    this._sendSize();
  }

  /** The consumer wrote the output up to `offset` of the current stream. */
  private _processedUpTo(generation: number, offset: number): void {
    if (generation !== this._generation || offset <= this._processed) {
      return; // A chunk from before a reset (maybe another session's stream).
    }
    this._processed = offset;
    const drained = this._received !== null && offset >= this._received;
    if (this._attached && (drained || offset - this._acked >= ACK_INTERVAL)) {
      this._acked = offset;
      this._emit(protocol.ACK, { session_id: this._sessionId!, offset });
    }
  }

  /** Attach again after an exit or error; may create the session anew (same name). */
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

  /** Close the session on the server (ends its shell). */
  async close(): Promise<void> {
    if (this._sessionId === undefined) {
      return;
    }
    const reply = await request<protocol.Reply<{ success: true }>>(
      this._socket,
      protocol.CLOSE,
      { session_id: this._sessionId }
    );
    if (!reply.success) {
      throw new Error(reply.error);
    }
  }

  /** Detach (the session keeps running) and drop the socket reference. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    if (this._attached && this._sessionId !== undefined) {
      this._emit(protocol.DETACH, { session_id: this._sessionId });
    }
    this._disposed = true;
    this._attached = false;
    this._epoch++;
    clearTimeout(this._retry);
    for (const [event, handler] of this._handlers) {
      this._socket.off(event, handler);
    }
    this._release?.();
    for (const emitter of [
      this.output,
      this.reset,
      this.statusChanged,
      this.attached,
      this.message
    ]) {
      emitter.dispose();
    }
  }

  private async _attach(): Promise<void> {
    const epoch = ++this._epoch;
    clearTimeout(this._retry);
    this._attached = false;
    this._attaching = true;
    this._early = [];
    this._setStatus({ state: this._hadAttach ? 'reconnecting' : 'connecting' });
    let result: Private.AttachResult;
    try {
      result = await this._requestAttach();
    } catch (error) {
      if (epoch !== this._epoch) {
        return;
      }
      // A timeout while connected: try again; a disconnect restarts it anyway.
      this._attaching = false;
      this._setStatus({
        state: 'reconnecting',
        message: String((error as Error).message ?? error)
      });
      this._retry = setTimeout(() => {
        if (epoch === this._epoch && this._socket.connected) {
          void this._attach();
        }
      }, RETRY_DELAY);
      return;
    }
    if (epoch !== this._epoch) {
      return; // Disconnected or disposed meanwhile.
    }
    this._attaching = false;
    if (!result.reply.success) {
      this._early = [];
      this._setStatus({ state: 'error', message: result.reply.error });
      return;
    }
    this._onAttached(result.created, result.reply);
  }

  /** Reconnect by id (with offset), else by name, else create (if allowed). */
  private async _requestAttach(): Promise<Private.AttachResult> {
    const size = { cols: this._size.cols, rows: this._size.rows };
    const reconnect = (body: protocol.IReconnectRequest) =>
      request<protocol.Reply<protocol.IReconnectReply>>(
        this._socket,
        protocol.RECONNECT,
        { ...body, ...size }
      );
    let failure: protocol.IFailure | undefined;
    if (this._sessionId !== undefined) {
      const body: protocol.IReconnectRequest = { session_id: this._sessionId };
      if (this._received !== null) {
        body.offset = this._received;
      }
      const reply = await reconnect(body);
      if (reply.success) {
        return { created: false, reply };
      }
      failure = reply;
      // That session is gone: the offset meant nothing for any other one.
      this._sessionId = undefined;
      this._received = null;
    }
    if (this._name !== undefined) {
      const reply = await reconnect({ name: this._name });
      if (reply.success) {
        return { created: false, reply };
      }
      failure = reply;
    }
    if (!this._create) {
      return {
        created: false,
        reply: failure ?? { success: false, error: 'no session to attach to' }
      };
    }
    const body: protocol.ICreateRequest = { ...size };
    if (this._name !== undefined) {
      body.name = this._name;
    }
    if (this._cwd !== undefined) {
      body.cwd = this._cwd;
    }
    const created = await request<protocol.Reply<protocol.ICreateReply>>(
      this._socket,
      protocol.CREATE,
      body
    );
    if (created.success || this._name === undefined) {
      return { created: true, reply: created };
    }
    // Another page may have created the same name between our two requests.
    const again = await reconnect({ name: this._name });
    return again.success
      ? { created: false, reply: again }
      : { created: true, reply: created };
  }

  private _onAttached(
    created: boolean,
    reply: protocol.ICreateReply | protocol.IReconnectReply
  ): void {
    this._sessionId = reply.session_id;
    this._name = reply.name;
    const truncated = 'truncated' in reply && reply.truncated;
    if (created || truncated || this._received === null) {
      const preamble =
        'preamble' in reply && reply.preamble ? reply.preamble : '';
      this._received = this._processed = this._acked = reply.offset;
      this._generation++;
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
    for (const event of early) {
      this._onOutput(event);
    }
    const queue = this._queue;
    this._queue = [];
    for (const piece of queue) {
      this._emit(protocol.INPUT, { session_id: reply.session_id, data: piece });
    }
    this._sendSize();
  }

  private _onOutput = (event: protocol.IOutputEvent): void => {
    if (!event || typeof event.offset !== 'number') {
      return;
    }
    if (this._attaching) {
      // By name we do not know the id yet: keep everything, filter later.
      if (this._early.length < MAX_EARLY_EVENTS) {
        this._early.push(event);
      }
      return;
    }
    if (
      !this._attached ||
      event.session_id !== this._sessionId ||
      this._received === null
    ) {
      return;
    }
    let data = Private.toBytes(event.data);
    const start = event.offset - data.length;
    if (event.offset <= this._received) {
      return; // Seen already (a resume overlapping what we had).
    }
    if (start < this._received) {
      data = data.subarray(this._received - start);
    }
    const { offset } = event;
    const generation = this._generation;
    this._received = offset;
    this.output.fire({
      data,
      offset,
      done: () => this._processedUpTo(generation, offset)
    });
  };

  private _onExit = (event: protocol.IExitEvent): void => {
    if (!event || event.session_id !== this._sessionId) {
      return;
    }
    this._epoch++;
    this._attached = false;
    this._attaching = false;
    this._sessionId = undefined;
    this._received = null;
    this._queue = [];
    this._setStatus({ state: 'exited', exitCode: event.exit_code });
  };

  private _onError = (event: protocol.IErrorEvent): void => {
    if (
      event &&
      event.session_id !== null &&
      event.session_id === this._sessionId
    ) {
      this.message.fire(event.error);
    }
  };

  private _onConnect = (): void => {
    if (this._opened && this._status.state !== 'exited') {
      void this._attach();
    }
  };

  private _onDisconnect = (): void => {
    this._epoch++;
    this._attached = false;
    this._attaching = false;
    clearTimeout(this._retry);
    if (this._opened && this._status.state !== 'exited') {
      this._setStatus({
        state: this._hadAttach ? 'reconnecting' : 'connecting'
      });
    }
  };

  private _onConnectError = (error: Error): void => {
    if (!this._opened || this._status.state === 'exited') {
      return;
    }
    const message = error?.message ?? String(error);
    if (!this._socket.active) {
      this._setStatus({ state: 'error', message });
    } else {
      this._setStatus({
        state: this._hadAttach ? 'reconnecting' : 'connecting',
        message
      });
    }
  };

  private _sendSize(): void {
    const { cols, rows } = this._size;
    if (
      !this._attached ||
      (this._sentSize.cols === cols && this._sentSize.rows === rows)
    ) {
      return;
    }
    this._sentSize = { cols, rows };
    this._emit(protocol.RESIZE, { session_id: this._sessionId!, cols, rows });
  }

  private _emit(event: string, data: unknown): void {
    this._socket.emit(event, data);
  }

  private _setStatus(status: ITerminalStatus): void {
    const old = this._status;
    if (
      old.state === status.state &&
      old.message === status.message &&
      old.exitCode === status.exitCode
    ) {
      return;
    }
    this._status = status;
    this.statusChanged.fire(status);
  }

  private readonly _socket: ISocketLike;
  private readonly _release?: () => void;
  private readonly _handlers: Array<[string, (...args: any[]) => void]> = [
    [protocol.OUTPUT, this._onOutput],
    [protocol.EXIT, this._onExit],
    [protocol.ERROR, this._onError],
    ['connect', this._onConnect],
    ['disconnect', this._onDisconnect],
    ['connect_error', this._onConnectError]
  ];
  private readonly _cwd: string | undefined;
  private _name: string | undefined;
  private _sessionId: string | undefined;
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
  private _received: number | null = null;
  private _generation = 0;
  private _processed = 0;
  private _acked = 0;
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
    /** Attach to the session with this id (tried before `name`). */
    sessionId?: string | null;
    /** Create the session when missing; default: only when neither name nor id is given. */
    create?: boolean;
    /** Working directory for a created session, relative to the server root. */
    cwd?: string | null;
  }
}

namespace Private {
  export type AttachResult = {
    created: boolean;
    reply: protocol.Reply<protocol.ICreateReply | protocol.IReconnectReply>;
  };

  export function clampSize(
    cols: number,
    rows: number
  ): { cols: number; rows: number } {
    const clamp = (value: number) =>
      Math.min(
        protocol.MAX_SIZE,
        Math.max(protocol.MIN_SIZE, Math.floor(value) || protocol.MIN_SIZE)
      );
    return { cols: clamp(cols), rows: clamp(rows) };
  }

  /** Socket.IO gives an ArrayBuffer in browsers and a Buffer (a Uint8Array) in Node. */
  export function toBytes(data: unknown): Uint8Array {
    if (data instanceof Uint8Array) {
      return data;
    }
    if (data instanceof ArrayBuffer) {
      return new Uint8Array(data);
    }
    if (ArrayBuffer.isView(data)) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (typeof data === 'string') {
      return new TextEncoder().encode(data);
    }
    return new Uint8Array(0);
  }
}

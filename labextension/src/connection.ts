/**
 * One terminal session seen through the page's shared Socket.IO connection.
 *
 * No DOM here: a consumer (TerminalView, a test) writes each `output` chunk to
 * a terminal and calls its `done()` when written, obeys `reset`, and shows
 * status changes. Resume is lossless: the connection remembers the end offset
 * of the last chunk it handed over and asks the server for what follows.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { attach, AttachResult } from './attach';
import * as protocol from './protocol';
import { ISocketChoice, ISocketLease, leaseSocket } from './sockets';
import { clampSize, OutputStream, splitInput, toBytes } from './stream';
import {
  GoneReason,
  IOutputChunk,
  IResetRequest,
  ISessionIdentity,
  ITerminalStatus
} from './types';

export * from './types';

/**
 * Retries of an attach that timed out while connected: the n-th waits
 * {@link retryDelay}(n). Exponential, so a server too busy to answer is not
 * asked ever more often; capped, so a recovered server is found soon.
 */
export const RETRY_BACKOFF = { initial: 2000, growth: 2, max: 30000 };

/**
 * The wait before retry number `attempt` (0-based), ms: exponential backoff
 * with "equal jitter" (half of the step fixed, half random), so the tabs of
 * a page, or the pages of a server, spread their retries out instead of
 * asking in lockstep, and none asks again at once.
 *
 * Not Lumino's `Poll` itself: a poll runs until disposed, ties its rhythm to
 * the page's visibility (`standby`) and backs off on failures of a recurring
 * task; this is one request retried until it is answered, and a hidden
 * notebook output must attach as soon as a visible one.
 */
export function retryDelay(
  attempt: number,
  random: () => number = Math.random
): number {
  const { initial, growth, max } = RETRY_BACKOFF;
  const step = Math.min(max, initial * growth ** Math.max(0, attempt));
  return step / 2 + (random() * step) / 2;
}
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
    // Claim the session: another view of it gets another socket.
    const claims = [
      options.name ? `name:${options.name}` : '',
      options.sessionId ? `id:${options.sessionId}` : ''
    ].filter(Boolean);
    this._lease = leaseSocket(options, claims);
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

  /** Output to write, in order, without duplicates. */
  get output(): ISignal<this, IOutputChunk> {
    return this._output;
  }

  /** The terminal must be reset (a restored screen or a new session). */
  get reset(): ISignal<this, IResetRequest> {
    return this._reset;
  }

  /** Status changes. */
  get statusChanged(): ISignal<this, ITerminalStatus> {
    return this._statusChanged;
  }

  /** Each successful attach, with the session's identity. */
  get attached(): ISignal<this, ISessionIdentity> {
    return this._attached;
  }

  /** A `terminal:error` about this session: worth showing, not fatal. */
  get message(): ISignal<this, string> {
    return this._message;
  }

  /** Whether {@link dispose} ran. */
  get isDisposed(): boolean {
    return this._phase === Private.Phase.Disposed;
  }

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
    if (this._phase !== Private.Phase.Closed) {
      return; // Opened already (or disposed).
    }
    this._phase = Private.Phase.Detached;
    if (this._socket.connected) {
      void this._attach();
    }
  }

  /** Type `data`: split to fit one message, queued until attached. */
  write(data: string): void {
    if (this.isDisposed || this._isEnded() || !data) {
      return;
    }
    const pieces = splitInput(data);
    if (this._phase === Private.Phase.Attached) {
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
    if (this.isDisposed) {
      return;
    }
    this._create = true;
    this._phase = Private.Phase.Detached;
    this._attempt = 0;
    if (this._socket.connected) {
      void this._attach();
    } else {
      this._setStatus({ state: 'connecting' });
    }
  }

  /** Detach (the session keeps running) and drop the socket reference. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._phase === Private.Phase.Attached) {
      this._send(protocol.DETACH, {});
    }
    this._detached(Private.Phase.Disposed);
    for (const [event, handler] of this._handlers) {
      this._socket.off(event, handler);
    }
    this._lease.release();
    Signal.clearData(this);
  }

  private get _socket() {
    return this._lease.socket;
  }

  private async _attach(): Promise<void> {
    this._detached(Private.Phase.Attaching);
    const epoch = this._epoch;
    this._setStatus({ state: this._hadAttach ? 'reconnecting' : 'connecting' });
    let result: AttachResult;
    // A known session is looked up by its id alone: by name, or by
    // creating, we would show another shell as if it were the same one.
    const known = this._sessionId !== undefined;
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
        // Timed out while connected: try again later (a disconnect also restarts).
        this._phase = Private.Phase.Detached;
        this._early = [];
        const message = (error as Error).message ?? String(error);
        this._setStatus({ state: 'reconnecting', message });
        this._retry = setTimeout(() => {
          if (epoch === this._epoch && this._socket.connected) {
            void this._attach();
          }
        }, retryDelay(this._attempt++));
      }
      return;
    }
    if (epoch !== this._epoch) {
      return; // Disconnected or disposed meanwhile.
    }
    this._phase = Private.Phase.Detached;
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
    this._name = reply.name;
    this._lease?.claim(`name:${reply.name}`);
    this._lease?.claim(`id:${reply.session_id}`);
    const truncated = 'truncated' in reply && reply.truncated;
    if (created || truncated || this._stream.received === null) {
      const preamble = 'preamble' in reply ? reply.preamble || '' : '';
      this._stream.reset(reply.offset);
      this._reset.emit({ preamble, offset: reply.offset });
    }
    this._phase = Private.Phase.Attached;
    this._hadAttach = true;
    this._attempt = 0;
    this._sentSize = { cols: reply.cols, rows: reply.rows };
    this._setStatus({ state: 'connected' });
    this._attached.emit({ session_id: reply.session_id, name: reply.name });
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

  /**
   * Not attached any more; replies to requests in flight are now stale.
   * Moves to `next`, or from attaching or attached to detached.
   */
  private _detached(next?: Private.Phase): void {
    this._epoch++;
    this._early = [];
    clearTimeout(this._retry);
    if (next !== undefined) {
      this._phase = next;
    } else if (
      this._phase === Private.Phase.Attaching ||
      this._phase === Private.Phase.Attached
    ) {
      this._phase = Private.Phase.Detached;
    }
  }

  private _onOutput = (event: protocol.IOutputEvent): void => {
    if (!event || typeof event.offset !== 'number') {
      return;
    }
    if (this._phase === Private.Phase.Attaching) {
      // Attaching by name, we do not know the id yet: keep all, filter later.
      if (this._early.length < MAX_EARLY_EVENTS) {
        this._early.push(event);
      }
      return;
    }
    if (
      this._phase !== Private.Phase.Attached ||
      event.session_id !== this._sessionId
    ) {
      return;
    }
    if (event.truncated) {
      // Resynchronisation: we fell behind what the server still retains.
      this._stream.reset(event.offset);
      this._reset.emit({
        preamble: event.preamble ?? '',
        offset: event.offset
      });
      return;
    }
    const data = this._stream.accept(toBytes(event.data), event.offset);
    if (data === null) {
      return;
    }
    const { offset } = event;
    const generation = this._stream.generation;
    this._output.emit({
      data,
      offset,
      done: () => {
        const ack = this._stream.processed(generation, offset);
        if (ack !== null && this._phase === Private.Phase.Attached) {
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

  /** Drop the session (it ended): nothing to resume, nothing to send it. */
  private _forget(): void {
    this._detached(Private.Phase.Ended);
    this._sessionId = undefined;
    this._stream.forget();
    this._queue = [];
  }

  /** The session ended (exited or gone): only `restart()` attaches again. */
  private _isEnded(): boolean {
    return this._phase === Private.Phase.Ended;
  }

  /** Opened, not ended, not disposed: attach whenever the socket is up. */
  private _isLive(): boolean {
    const { Closed, Ended, Disposed } = Private.Phase;
    return ![Closed, Ended, Disposed].includes(this._phase);
  }

  private _onError = (event: protocol.IErrorEvent): void => {
    if (event && event.session_id && event.session_id === this._sessionId) {
      this._message.emit(event.error);
    }
  };

  private _onConnect = (): void => {
    if (this._isLive()) {
      this._attempt = 0; // A new connection: retries start over.
      void this._attach();
    }
  };

  private _onDisconnect = (): void => {
    this._detached();
    if (this._isLive()) {
      this._setStatus({
        state: this._hadAttach ? 'reconnecting' : 'connecting'
      });
    }
  };

  private _onConnectError = (error: Error): void => {
    if (!this._isLive()) {
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
    const attached = this._phase === Private.Phase.Attached;
    if (attached && (sent.cols !== cols || sent.rows !== rows)) {
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
      this._statusChanged.emit(status);
    }
  }

  private readonly _lease: ISocketLease;
  private readonly _output = new Signal<this, IOutputChunk>(this);
  private readonly _reset = new Signal<this, IResetRequest>(this);
  private readonly _statusChanged = new Signal<this, ITerminalStatus>(this);
  private readonly _attached = new Signal<this, ISessionIdentity>(this);
  private readonly _message = new Signal<this, string>(this);
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
  /**
   * A session we know (see the class comment), never a guess: given by the
   * host or learnt at attach, cleared when the session ended.
   */
  private _sessionId: string | undefined;
  private _create: boolean;
  private _phase = Private.Phase.Closed;
  private _status: ITerminalStatus = { state: 'connecting' };
  private _size = { cols: 80, rows: 24 };
  private _sentSize = { cols: 0, rows: 0 };
  /** Some attach succeeded before: a new try says "reconnecting". */
  private _hadAttach = false;
  private _epoch = 0;
  private _retry: ReturnType<typeof setTimeout> | undefined;
  /** Attach retries since the last success or (re)connect: the backoff's exponent. */
  private _attempt = 0;
  private _early: protocol.IOutputEvent[] = [];
  private _queue: string[] = [];
}

/** Types for {@link TerminalConnection}. */
export namespace TerminalConnection {
  /** Which session, and how to reach the server. */
  export interface IOptions extends ISocketChoice {
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

namespace Private {
  /**
   * Where a connection is in its life: the one state its methods consult
   * (the status shown to the user follows from it and from the last error).
   */
  export enum Phase {
    /** Not opened yet: input is queued, nothing is requested. */
    Closed,
    /** Opened, not attached: waits for the socket or for a retry. */
    Detached,
    /** An attach is in flight; output that races its reply is kept. */
    Attaching,
    /** Bound to `_sessionId`: input, resizes and acks are sent. */
    Attached,
    /** The session exited or is gone: only `restart()` attaches again. */
    Ended,
    /** Disposed: nothing happens any more. */
    Disposed
  }
}

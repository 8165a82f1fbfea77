/**
 * The caller's list of sessions, over the page's shared socket.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import * as protocol from './protocol';
import { ISocketChoice, ISocketLease, leaseSocket, request } from './sockets';

/**
 * List and close sessions; `changed` fires when the server says the list
 * changed, `command` when a command starts or ends in one of them.
 */
export class SessionsClient implements IDisposable {
  constructor(options: SessionsClient.IOptions) {
    this._lease = leaseSocket(options);
    this._socket.on(protocol.CHANGED, this._onChanged);
    this._socket.on(protocol.COMMAND, this._onCommand);
    // After a reconnect the list may have changed while we were away.
    this._socket.on('connect', this._onChanged);
  }

  /** The list changed (or the socket reconnected): list again. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A command started or finished in one of the caller's sessions (shell integration). */
  get command(): ISignal<this, protocol.ICommandEvent> {
    return this._command;
  }

  /** Whether {@link dispose} ran. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether requests can be answered now. */
  get isConnected(): boolean {
    return this._socket.connected;
  }

  /** The caller's sessions. */
  async list(): Promise<protocol.ISessionInfo[]> {
    const reply = await request<protocol.Reply<protocol.IListReply>>(
      this._socket,
      protocol.LIST,
      {}
    );
    if (!reply.success) {
      throw new Error(reply.error);
    }
    return reply.sessions;
  }

  /** Close a session: its shell ends and attached views see it exit. */
  async close(sessionId: string): Promise<void> {
    const reply = await request<protocol.Reply<{ success: true }>>(
      this._socket,
      protocol.CLOSE,
      { session_id: sessionId }
    );
    if (!reply.success) {
      throw new Error(reply.error);
    }
  }

  /** Rename a session; the new name must not be used by another of the caller's sessions. */
  async rename(sessionId: string, name: string): Promise<void> {
    const reply = await request<protocol.Reply<{ success: true }>>(
      this._socket,
      protocol.RENAME,
      { session_id: sessionId, name }
    );
    if (!reply.success) {
      throw new Error(reply.error);
    }
  }

  /**
   * Create a session without viewing it: create attaches this socket, so
   * detach at once (views attach with their own TerminalConnection).
   */
  async create(
    request_: Partial<protocol.ICreateRequest> = {}
  ): Promise<protocol.ICreateReply> {
    const body: protocol.ICreateRequest = { cols: 80, rows: 24, ...request_ };
    const reply = await request<protocol.Reply<protocol.ICreateReply>>(
      this._socket,
      protocol.CREATE,
      body
    );
    if (!reply.success) {
      throw new Error(reply.error);
    }
    this._socket.emit(protocol.DETACH, { session_id: reply.session_id });
    return reply;
  }

  /** Stop listening and drop the socket reference. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._socket.off(protocol.CHANGED, this._onChanged);
    this._socket.off(protocol.COMMAND, this._onCommand);
    this._socket.off('connect', this._onChanged);
    this._lease.release();
    Signal.clearData(this);
  }

  private get _socket() {
    return this._lease.socket;
  }

  private _onChanged = (): void => {
    this._changed.emit();
  };

  private _onCommand = (event: protocol.ICommandEvent): void => {
    if (event && typeof event.session_id === 'string' && event.command) {
      this._command.emit(event);
    }
  };

  private readonly _lease: ISocketLease;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _command = new Signal<this, protocol.ICommandEvent>(this);
  private _isDisposed = false;
}

/** Types for {@link SessionsClient}. */
export namespace SessionsClient {
  /** How to reach the server. */
  /** How to reach the server: a socket of its own or the page's shared one. */
  // eslint-disable-next-line @typescript-eslint/no-empty-interface
  export interface IOptions extends ISocketChoice {}
}

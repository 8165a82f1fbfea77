/**
 * The caller's list of sessions, over the page's shared socket.
 */
import { Emitter, IDisposable } from './emitter';
import * as protocol from './protocol';
import { acquireSocket, IServerOptions, ISocketLike, request } from './sockets';

/**
 * List and close sessions; `changed` fires when the server says the list
 * changed, `command` when a command starts or ends in one of them.
 */
export class SessionsClient implements IDisposable {
  constructor(options: SessionsClient.IOptions) {
    if (options.socket) {
      this._socket = options.socket;
    } else if (options.baseUrl) {
      const lease = acquireSocket(options as IServerOptions);
      this._socket = lease.socket;
      this._release = lease.release;
    } else {
      throw new Error('SessionsClient needs a socket or a baseUrl');
    }
    this._socket.on(protocol.CHANGED, this._onChanged);
    this._socket.on(protocol.COMMAND, this._onCommand);
    // After a reconnect the list may have changed while we were away.
    this._socket.on('connect', this._onChanged);
  }

  /** The list changed (or the socket reconnected): list again. */
  readonly changed = new Emitter<void>();
  /** A command started or finished in one of the caller's sessions (shell integration). */
  readonly command = new Emitter<protocol.ICommandEvent>();

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
    this._socket.off(protocol.CHANGED, this._onChanged);
    this._socket.off(protocol.COMMAND, this._onCommand);
    this._socket.off('connect', this._onChanged);
    this._release?.();
    this.changed.dispose();
    this.command.dispose();
  }

  private _onChanged = (): void => {
    this.changed.fire();
  };

  private _onCommand = (event: protocol.ICommandEvent): void => {
    if (event && typeof event.session_id === 'string' && event.command) {
      this.command.fire(event);
    }
  };

  private readonly _socket: ISocketLike;
  private readonly _release?: () => void;
}

/** Types for {@link SessionsClient}. */
export namespace SessionsClient {
  /** How to reach the server. */
  export interface IOptions extends Partial<IServerOptions> {
    /** A socket to use instead of the page's shared one. */
    socket?: ISocketLike;
  }
}

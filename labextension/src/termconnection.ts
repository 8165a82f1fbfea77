/**
 * A webpty session seen as JupyterLab's `Terminal.ITerminalConnection`.
 *
 * JupyterLab's own terminal widget (`@jupyterlab/terminal`) and any
 * third-party code that got a connection from `ITerminalManager` consume
 * terminado-style messages: `stdout` with a string, `disconnect` when the shell
 * ended; they send `stdin` and `set_size` (`[rows, cols, height, width]`).
 * This class translates those to a {@link TerminalConnection}, which keeps
 * what makes our sessions persistent: lossless resume by offset after a
 * network drop, screen restore on a fresh attach (a page reload), and flow
 * control acknowledgements.
 *
 * Acknowledgements: JupyterLab's widget calls `term.write(text)` without a
 * callback, synchronously while we emit the text. Once the widget's xterm.js
 * instance is known ({@link ackAfter}, called by `labterminal.ts`), each
 * chunk's acknowledgement rides on that very write as its callback, so it
 * leaves exactly when xterm.js has parsed the chunk, as in our `TerminalView`.
 * (A second, empty write queued behind it did the same at first, but xterm.js
 * parses it in a task of its own after a keystroke and asks for one more
 * frame: half again as many frames while typing, whose ~6 ms commits delayed
 * the next echo; `python -m bench.browser`.) Before that (the widget is still
 * loading xterm.js and buffers what arrives), for widgets whose xterm.js
 * cannot be reached and for a write the widget did not make at once, a chunk
 * is acknowledged from a macrotask queued after its delivery.
 * Measurements: docs/views.md.
 */
import type { ServerConnection, Terminal } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { TerminalConnection } from './connection';
import { IOutputChunk, ITerminalStatus } from './types';

/** The part of xterm.js's `Terminal` that acknowledgements need. */
export interface IWriter {
  write(data: string | Uint8Array, callback?: () => void): void;
}

/** Adapts a {@link TerminalConnection} to `Terminal.ITerminalConnection`. */
export class WebPtyTerminalConnection implements Terminal.ITerminalConnection {
  /**
   * Wrap `connection` (taken over: disposing this disposes it). It is opened
   * at once with a default size, because JupyterLab's widget sends its real
   * size only after the status became `connected`.
   */
  constructor(options: WebPtyTerminalConnection.IOptions) {
    this._connection = options.connection;
    this._name = options.name ?? options.connection.name ?? '';
    this.serverSettings = options.serverSettings;
    this._shutdown = options.shutdown;
    const connection = this._connection;
    connection.output.connect(this._onOutput);
    connection.reset.connect((_, { preamble }) => {
      // A new stream: bytes of the old one must not complete a character.
      this._decoder = new TextDecoder();
      // ESC c: a full reset, then the restored screen.
      this._emit('stdout', '\x1bc' + preamble);
    });
    connection.attached.connect((_, identity) => {
      this._name = identity.name;
    });
    connection.statusChanged.connect(this._onStatus);
    connection.open(80, 24);
  }

  /** Messages from the session: `stdout` and, when the shell ended, `disconnect`. */
  get messageReceived(): ISignal<this, Terminal.IMessage> {
    return this._messageReceived;
  }

  /** The connection status changed. */
  get connectionStatusChanged(): ISignal<this, Terminal.ConnectionStatus> {
    return this._statusChanged;
  }

  /** Emitted once, when disposed (JupyterLab's widget closes on it with `closeOnExit`). */
  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  /** The session's name (the webpty session name). */
  get name(): string {
    return this._name;
  }

  /** JupyterLab's terminal model: just the name. */
  get model(): Terminal.IModel {
    return { name: this._name };
  }

  /** The server settings of the manager that made this connection. */
  readonly serverSettings: ServerConnection.ISettings;

  /** `connected`, `connecting` (also while resuming), or `disconnected` (ended). */
  get connectionStatus(): Terminal.ConnectionStatus {
    return Private.status(this._connection.status);
  }

  /** The webpty connection underneath (its session id, status details). */
  get connection(): TerminalConnection {
    return this._connection;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Handle `stdin` and `set_size`; other messages have no meaning here. */
  send(message: Terminal.IMessage): void {
    if (this._isDisposed) {
      return;
    }
    const content = message.content ?? [];
    if (message.type === 'stdin' && typeof content[0] === 'string') {
      this._connection.write(content[0]);
    } else if (message.type === 'set_size') {
      const [rows, cols] = content;
      if (typeof rows === 'number' && typeof cols === 'number') {
        this._connection.resize(cols, rows);
      }
    }
  }

  /**
   * Attach again when the session ended or was lost; resolves once attached.
   * A live connection resumes by itself after drops, so this only waits.
   */
  reconnect(): Promise<void> {
    if (this._isDisposed) {
      // The shell ended (this connection disposed itself): nothing will attach again.
      return Promise.reject(new Error(`Terminal ${this._name} has ended`));
    }
    const state = this._connection.status.state;
    if (state === 'connected') {
      return Promise.resolve();
    }
    const attached = new PromiseDelegate<void>();
    const once = () => {
      this._connection.attached.disconnect(once);
      attached.resolve();
    };
    this._connection.attached.connect(once);
    if (state === 'exited' || state === 'gone' || state === 'error') {
      this._connection.restart();
    }
    return attached.promise;
  }

  /** End the shell (the session is closed on the server), then dispose. */
  async shutdown(): Promise<void> {
    const sessionId = this._connection.sessionId;
    if (sessionId !== undefined) {
      await this._shutdown(sessionId);
    }
    this.dispose();
  }

  /** Detach (the session keeps running) and stop emitting. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._connection.dispose();
    this._disposed.emit();
    Signal.clearData(this);
  }

  /**
   * From now on acknowledge each chunk when `term` (the xterm.js instance of
   * the widget that shows this connection) has parsed it.
   */
  ackAfter(term: IWriter): void {
    if (this._writer === term) {
      return;
    }
    this._writer = term;
    // The widget writes each chunk itself, without a callback: give that
    // write the chunk's acknowledgement as its callback.
    const write = term.write.bind(term);
    term.write = (data, callback) => {
      const done = this._ack;
      this._ack = null;
      if (done === null) {
        write(data, callback);
        return;
      }
      write(data, () => {
        callback?.();
        done();
      });
    };
  }

  private _onOutput = (_: unknown, chunk: IOutputChunk): void => {
    const text = this._decoder.decode(chunk.data, { stream: true });
    if (this._writer) {
      this._ack = chunk.done; // taken by the widget's write, just below
    }
    this._emit('stdout', text);
    if (this._ack !== null || !this._writer) {
      // See the module comment: after xterm.js had its turn at the queue.
      this._ack = null;
      setTimeout(() => chunk.done(), 0);
    }
  };

  private _onStatus = (_: unknown, status: ITerminalStatus): void => {
    const mapped = Private.status(status);
    if (mapped !== this._lastStatus) {
      this._lastStatus = mapped;
      this._statusChanged.emit(mapped);
    }
    const { state } = status;
    if (state === 'exited' || state === 'gone' || state === 'error') {
      // As terminado does when the shell ends: the widget prints
      // "[Finished… Term Session]" and closes with `closeOnExit`.
      this._emit('disconnect', status.exitCode ?? 0);
      this.dispose();
    }
  };

  private _emit(type: Terminal.MessageType, value: string | number): void {
    if (!this._isDisposed) {
      this._messageReceived.emit({ type, content: [value] });
    }
  }

  private readonly _connection: TerminalConnection;
  private readonly _shutdown: (sessionId: string) => Promise<void>;
  private readonly _messageReceived = new Signal<this, Terminal.IMessage>(this);
  private readonly _statusChanged = new Signal<this, Terminal.ConnectionStatus>(
    this
  );
  private readonly _disposed = new Signal<this, void>(this);
  private _decoder = new TextDecoder();
  private _writer: IWriter | null = null;
  /** The acknowledgement of the chunk being emitted, for the widget's write. */
  private _ack: (() => void) | null = null;
  private _name: string;
  private _lastStatus: Terminal.ConnectionStatus = 'connecting';
  private _isDisposed = false;
}

/** Types for {@link WebPtyTerminalConnection}. */
export namespace WebPtyTerminalConnection {
  export interface IOptions {
    /** The webpty connection to adapt (not opened yet). */
    connection: TerminalConnection;
    /** The name to report before the server confirmed it. */
    name?: string;
    serverSettings: ServerConnection.ISettings;
    /** Close the session `sessionId` on the server. */
    shutdown: (sessionId: string) => Promise<void>;
  }
}

namespace Private {
  /** Our states as JupyterLab's three. */
  export function status(status: ITerminalStatus): Terminal.ConnectionStatus {
    switch (status.state) {
      case 'connected':
        return 'connected';
      case 'connecting':
      case 'reconnecting':
        return 'connecting';
      default:
        return 'disconnected';
    }
  }
}

/**
 * JupyterLab's terminal service (`ITerminalManager`) backed by webpty sessions.
 *
 * Every entry point of JupyterLab and Notebook 7 that opens a terminal goes
 * through this one service: the Launcher tile and *File > New > Terminal*
 * (the command `terminal:create-new`), the command palette, Notebook 7's
 * *New > Terminal*, the Running panel (list, shut down) and third-party code
 * calling `startNew`. A terminal's `name` is the webpty session's name.
 *
 * The opt-out (setting `builtinTerminal`) is decided here too, because the
 * core manager plugin is disabled statically (`disabledExtensions` in
 * package.json): {@link WebPtyTerminalManager.choose} hands every call to
 * `@jupyterlab/services`' own `TerminalManager` (terminado) instead.
 */
import {
  ServerConnection,
  Terminal,
  TerminalManager
} from '@jupyterlab/services';
import { URLExt } from '@jupyterlab/coreutils';
import { PromiseDelegate } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { TerminalConnection } from './connection';
import { API_PATH, ISessionInfo } from './protocol';
import { SessionsClient } from './sessions';
import { IServerOptions, ISocketLike } from './sockets';
import { WebPtyTerminalConnection } from './termconnection';
import { ITerminalStatus } from './types';

/** `Terminal.IManager` over webpty sessions, or over the built-in one when chosen. */
export class WebPtyTerminalManager implements Terminal.IManager {
  constructor(options: WebPtyTerminalManager.IOptions) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._server = options.server;
    this._makeBuiltin =
      options.builtin ??
      (() => new TerminalManager({ serverSettings: this.serverSettings }));
    this._probe = options.probe ?? (() => Private.probe(this.serverSettings));
  }

  /** Emitted with the models when the list of terminals changed. */
  get runningChanged(): ISignal<this, Terminal.IModel[]> {
    return this._runningChanged;
  }

  /** Forwarded from the built-in manager when it is chosen. */
  get connectionFailure(): ISignal<this, ServerConnection.NetworkError> {
    return this._connectionFailure;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  readonly serverSettings: ServerConnection.ISettings;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get isActive(): boolean {
    return true;
  }

  get isReady(): boolean {
    return this._isReady;
  }

  /** Resolves once the backend is chosen and its first list is in. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /** Whether the built-in (terminado) manager serves the calls. */
  get isBuiltin(): boolean {
    return this._builtin !== null;
  }

  /**
   * Pick the backend, once (later calls are ignored: terminals already open
   * stay with the backend that opened them; a changed setting applies after
   * a reload). Until called, requests wait.
   */
  choose(backend: 'webpty' | 'builtin'): void {
    if (this._chosenDone || this._isDisposed) {
      return;
    }
    this._chosenDone = true;
    if (backend === 'builtin') {
      this._useBuiltin();
      return;
    }
    // The labextension may be on while our server extension is off (`jupyter server extension
    // disable`): then terminals would hang forever; the built-in ones are better than none.
    void this._isServed().then(served => {
      if (served) {
        this._client = new SessionsClient(this._server);
        this._client.changed.connect(() => void this.refreshRunning());
        this._chosen.resolve();
        void this.refreshRunning().finally(() => this._setReady());
      } else {
        console.warn(
          'jupyter-webpty: no webpty server here; using the built-in terminal'
        );
        this._useBuiltin();
      }
    });
  }

  /** Hand every call to the built-in (terminado) manager from now on. */
  private _useBuiltin(): void {
    const builtin = this._makeBuiltin();
    this._builtin = builtin;
    builtin.runningChanged.connect((_, models) => this._setModels(models));
    builtin.connectionFailure.connect((_, error) =>
      this._connectionFailure.emit(error)
    );
    void builtin.ready.then(() => {
      this._setModels([...builtin.running()]);
      this._setReady();
    });
    this._chosen.resolve();
  }

  /** Whether our server extension answers (a 404 means it is not loaded). */
  private async _isServed(): Promise<boolean> {
    try {
      return await this._probe();
    } catch {
      return true; // Unreachable now: the socket will keep trying, as for any drop.
    }
  }

  /** Terminals are always available: a webpty session or the built-in one. */
  isAvailable(): boolean {
    return this._builtin?.isAvailable() ?? true;
  }

  /** The terminals last listed. */
  running(): IterableIterator<Terminal.IModel> {
    return this._models[Symbol.iterator]();
  }

  /** List again now. */
  async refreshRunning(): Promise<void> {
    await this._chosen.promise;
    if (this._builtin) {
      return this._builtin.refreshRunning();
    }
    let sessions: ISessionInfo[];
    try {
      sessions = await this._client!.list();
    } catch {
      return; // Not connected yet: the socket's `connect` lists again.
    }
    this._setModels(sessions.map(s => ({ name: s.name })));
  }

  /**
   * Start a terminal: a new webpty session in `cwd`, or, given a `name`, the
   * session of that name (attached when it exists, created when not: this is
   * how JupyterLab restores a terminal tab after a reload).
   */
  async startNew(
    options: Terminal.ITerminal.IOptions = {}
  ): Promise<Terminal.ITerminalConnection> {
    await this._chosen.promise;
    if (this._builtin) {
      return this._builtin.startNew(options);
    }
    const connection = this._connect({
      name: options.name || undefined,
      cwd: options.cwd || undefined,
      create: true
    });
    // Resolve with a name: JupyterLab titles and restores tabs by it.
    const started = new PromiseDelegate<void>();
    const inner = connection.connection;
    const attached = () => started.resolve();
    const status = (_: unknown, s: ITerminalStatus) => {
      if (s.state === 'error') {
        started.reject(new Error(s.message ?? 'terminal not started'));
      }
    };
    inner.attached.connect(attached);
    inner.statusChanged.connect(status);
    try {
      await started.promise;
    } finally {
      inner.attached.disconnect(attached);
      inner.statusChanged.disconnect(status);
    }
    void this.refreshRunning();
    return connection;
  }

  /**
   * Attach to the existing session `model.name` (nothing is created; a
   * missing session ends at once with a `disconnect` message).
   */
  connectTo(
    options: Omit<Terminal.ITerminalConnection.IOptions, 'serverSettings'>
  ): Terminal.ITerminalConnection {
    if (this._builtin) {
      return this._builtin.connectTo(options);
    }
    return this._connect({ name: options.model.name, create: false });
  }

  /** Shut down (close) the session named `name`. */
  async shutdown(name: string): Promise<void> {
    await this._chosen.promise;
    if (this._builtin) {
      return this._builtin.shutdown(name);
    }
    const sessions = await this._client!.list();
    const session = sessions.find(s => s.name === name);
    if (session) {
      await this._client!.close(session.session_id);
    }
    await this.refreshRunning();
  }

  /** Shut down every session of the caller. */
  async shutdownAll(): Promise<void> {
    await this._chosen.promise;
    if (this._builtin) {
      return this._builtin.shutdownAll();
    }
    const sessions = await this._client!.list();
    await Promise.all(sessions.map(s => this._client!.close(s.session_id)));
    await this.refreshRunning();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._client?.dispose();
    this._builtin?.dispose();
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _connect(
    options: TerminalConnection.IOptions
  ): WebPtyTerminalConnection {
    const connection = new TerminalConnection({ ...this._server, ...options });
    return new WebPtyTerminalConnection({
      connection,
      name: options.name ?? undefined,
      serverSettings: this.serverSettings,
      shutdown: async sessionId => {
        await this._client!.close(sessionId);
        void this.refreshRunning();
      }
    });
  }

  private _setModels(models: Terminal.IModel[]): void {
    const names = (list: Terminal.IModel[]) => list.map(m => m.name).join('\n');
    if (names(models) !== names(this._models)) {
      this._models = models;
      this._runningChanged.emit(models);
    }
  }

  private _setReady(): void {
    if (!this._isReady) {
      this._isReady = true;
      this._ready.resolve();
    }
  }

  private readonly _server: WebPtyTerminalManager.IServer;
  private readonly _makeBuiltin: () => Terminal.IManager;
  private readonly _probe: () => Promise<boolean>;
  private readonly _runningChanged = new Signal<this, Terminal.IModel[]>(this);
  private readonly _connectionFailure = new Signal<
    this,
    ServerConnection.NetworkError
  >(this);
  private readonly _disposed = new Signal<this, void>(this);
  private readonly _chosen = new PromiseDelegate<void>();
  private readonly _ready = new PromiseDelegate<void>();
  private _chosenDone = false;
  private _client: SessionsClient | null = null;
  private _builtin: Terminal.IManager | null = null;
  private _models: Terminal.IModel[] = [];
  private _isReady = false;
  private _isDisposed = false;
}

/** Types for {@link WebPtyTerminalManager}. */
export namespace WebPtyTerminalManager {
  /** How to reach webpty: the page's server, or a socket (tests). */
  export type IServer = Partial<IServerOptions> & { socket?: ISocketLike };

  export interface IOptions {
    server: IServer;
    serverSettings?: ServerConnection.ISettings;
    /** Make the built-in manager (default: `@jupyterlab/services`' `TerminalManager`). */
    builtin?: () => Terminal.IManager;
    /** Whether the webpty server extension answers (default: GET its REST listing). */
    probe?: () => Promise<boolean>;
  }
}

namespace Private {
  /** GET `webpty/api/sessions`: anything but a 404 means the server extension is there. */
  export async function probe(
    settings: ServerConnection.ISettings
  ): Promise<boolean> {
    const url = URLExt.join(settings.baseUrl, API_PATH);
    const response = await ServerConnection.makeRequest(url, {}, settings);
    return response.status !== 404;
  }
}

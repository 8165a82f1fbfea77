/**
 * TerminalView: xterm.js in a host element, fed by a TerminalConnection.
 *
 * Knows nothing of JupyterLab or ipywidgets: hosts give it an element and a
 * connection, call `setOptions` when settings or the theme change, and
 * `dispose` when done (the connection is theirs to dispose).
 */
import { Platform } from '@lumino/domutils';
import {
  DisposableDelegate,
  DisposableSet,
  IDisposable
} from '@lumino/disposable';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { FitAddon } from '@xterm/addon-fit';
import type { SearchAddon } from '@xterm/addon-search';
import type { Terminal } from '@xterm/xterm';

import { CommandMarks, isJumpKey } from './commandmarks';
import { TerminalConnection } from './connection';
import { isCopyKey } from './keys';
import { StatusBanner } from './status';
import { WebglRenderer } from './webgl';
import { IXterm, loadXterm, ThemeName, xtermTheme } from './xterm';

/**
 * Keys: everything typed goes to the terminal. JupyterLab's shortcuts are
 * suppressed inside it (`data-lm-suppress-shortcuts`, checked by Lumino's
 * command registry, which listens in the capture phase, so stopping
 * propagation alone would come too late) and keydown does not bubble to
 * notebook or widget handlers. The one way out is **Shift+Escape**: it blurs
 * the terminal, after which JupyterLab's shortcuts work again; xterm does not
 * see it, so Escape alone still reaches vi and friends. Ctrl+C copies when
 * text is selected (as in JupyterLab's terminal) and sends SIGINT otherwise;
 * on macOS Cmd+C copies and Ctrl+C is always SIGINT (see {@link isCopyKey}).
 * **Ctrl+Up / Ctrl+Down** jump between the shell's commands (see
 * CommandMarks) once a command was marked and unless a full-screen program
 * (alternate screen) runs; otherwise they reach the program as usual.
 *
 * The view's element carries the attached session's id (`data-session-id`):
 * commands (Copy Output of Last Command) find the session of a view from the
 * DOM, whichever host (panel, tab, output, widget) made it.
 */
export class TerminalView implements IDisposable {
  constructor(
    host: HTMLElement,
    connection: TerminalConnection,
    options: Partial<TerminalView.IOptions> = {}
  ) {
    this._options = { ...TerminalView.defaultOptions, ...options };
    this._connection = connection;
    this._node = document.createElement('div');
    this._node.className = 'jp-WebPty-view';
    this._node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this._node.classList.toggle('jp-mod-fixedRows', this._isFixed());
    this._xtermNode = document.createElement('div');
    this._xtermNode.className = 'jp-WebPty-xterm';
    this._node.appendChild(this._xtermNode);
    this._banner = new StatusBanner(this._node, connection);
    host.appendChild(this._node);
    this._listen(this._node, 'keydown', event => {
      const key = event as KeyboardEvent;
      if (!(key.key === 'Escape' && key.shiftKey)) {
        key.stopPropagation();
      }
    });
    this._observer = new ResizeObserver(() => this._scheduleFit());
    this._observer.observe(this._node);
    loadXterm().then(
      xterm => {
        this._xterm = xterm;
        this._scheduleFit();
      },
      error => this._banner.show(`Could not load the terminal: ${error}`)
    );
  }

  /** Resolves once xterm is open and the connection started. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /** Whether {@link dispose} ran. */
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The xterm.js terminal, once open. */
  get terminal(): Terminal | null {
    return this._term;
  }

  /** The current options. */
  get options(): TerminalView.IOptions {
    return { ...this._options };
  }

  /** Change font, scrollback, renderer, theme or fixed rows. */
  setOptions(options: Partial<TerminalView.IOptions>): void {
    this._options = { ...this._options, ...options };
    this._node.classList.toggle('jp-mod-fixedRows', this._isFixed());
    const term = this._term;
    if (!term) {
      return;
    }
    const { theme } = this._options;
    Object.assign(term.options, Private.xtermOptions(this._options));
    term.options.theme = xtermTheme(theme);
    this._node.dataset.theme = theme;
    this._useWebgl(false);
    this._scheduleFit();
  }

  /** The view's outermost element (class `jp-WebPty-view`). */
  get node(): HTMLElement {
    return this._node;
  }

  /** The shell's commands seen in this terminal (null until xterm is open). */
  get commandMarks(): CommandMarks | null {
    return this._marks;
  }

  /** Give the terminal the keyboard. */
  focus(): void {
    this._term?.focus();
  }

  /** Highlight the next match of `text` (search addon). */
  findNext(text: string): boolean {
    return this._search?.findNext(text) ?? false;
  }

  /** Fit the terminal to its host now (hosts call this after showing it). */
  fit(): void {
    const term = this._term;
    if (!term || !this._isVisible()) {
      return;
    }
    const rows = this._options.rows;
    if (rows) {
      // Fixed rows (notebook outputs): width decides columns, rows decide height.
      const cols = this._fit?.proposeDimensions()?.cols ?? term.cols;
      if (cols !== term.cols || rows !== term.rows) {
        term.resize(cols, rows);
      }
    } else {
      this._fit?.fit();
    }
  }

  /** Remove the terminal from the page; the connection stays with its owner. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    cancelAnimationFrame(this._frame);
    this._observer.disconnect();
    this._webgl?.dropWebgl();
    this._marks?.dispose();
    this._disposables.dispose();
    Signal.disconnectReceiver(this);
    this._banner.dispose();
    this._term?.dispose();
    this._node.remove();
  }

  private _isFixed(): boolean {
    return !!this._options.rows;
  }

  private _isVisible(): boolean {
    const { clientWidth, clientHeight } = this._node;
    return (
      this._node.isConnected &&
      clientWidth > 0 &&
      (clientHeight > 0 || this._isFixed())
    );
  }

  /** One fit per frame, however many resize events; opens xterm when visible. */
  private _scheduleFit(): void {
    cancelAnimationFrame(this._frame);
    this._frame = requestAnimationFrame(() => {
      if (this._disposed) {
        return;
      }
      if (!this._term && this._xterm && this._isVisible()) {
        this._open(this._xterm);
      }
      this.fit();
    });
  }

  /** Create xterm once the host is visible: it measures glyphs on open. */
  private _open(xterm: IXterm): void {
    const { theme, rows } = this._options;
    const term = new xterm.Terminal({
      allowProposedApi: true, // the unicode11 addon needs it
      ...Private.xtermOptions(this._options),
      rows: rows || 24,
      theme: xtermTheme(theme)
    });
    this._term = term;
    this._node.dataset.theme = theme;
    this._fit = new xterm.FitAddon();
    this._search = new xterm.SearchAddon();
    const unicode11 = new xterm.Unicode11Addon();
    for (const addon of [this._fit, this._search, unicode11]) {
      term.loadAddon(addon);
    }
    term.loadAddon(new xterm.WebLinksAddon());
    term.unicode.activeVersion = '11';
    term.open(this._xtermNode);
    const marks = new CommandMarks(term);
    this._marks = marks;
    this._webgl = new WebglRenderer(term, xterm);
    this._useWebgl(false);
    term.attachCustomKeyEventHandler(event => {
      if (event.key === 'Escape' && event.shiftKey) {
        if (event.type === 'keydown') {
          term.blur();
        }
        return false;
      }
      if (isJumpKey(event) && marks.canJump) {
        if (event.type === 'keydown') {
          if (event.key === 'ArrowUp') {
            marks.previous();
          } else {
            marks.next();
          }
        }
        return false;
      }
      // Let the browser copy the selection instead of sending ^C.
      return !(isCopyKey(event, Platform.IS_MAC) && term.hasSelection());
    });
    this._wire(term);
    this.fit();
    this._connection.open(term.cols, term.rows);
    this._ready.resolve();
  }

  /** Connection <-> terminal. */
  private _wire(term: Terminal): void {
    const connection = this._connection;
    // Signals: `this` is the receiver, disconnected as one in dispose().
    connection.output.connect(
      (_, chunk) => term.write(chunk.data, chunk.done),
      this
    );
    // Through the write queue (not term.reset()) so it lands after
    // anything still queued: ESC c is a full reset, like term.reset().
    connection.reset.connect((_, { preamble }) => {
      term.write('\x1bc');
      if (preamble) {
        term.write(preamble);
      }
    }, this);
    connection.attached.connect((_, { session_id }) => {
      this._node.dataset.sessionId = session_id;
    }, this);
    connection.statusChanged.connect(() => {
      if (connection.sessionId === undefined) {
        delete this._node.dataset.sessionId; // Exited or lost.
      }
    }, this);
    // xterm's own disposables have no `isDisposed`: Lumino's set wants one.
    const own = (disposable: { dispose(): void }) =>
      this._disposables.add(new DisposableDelegate(() => disposable.dispose()));
    own(
      term.onData(data => {
        const { state } = connection.status;
        if (state === 'exited' || state === 'gone' || state === 'error') {
          // Only Enter starts a shell again: a lost shell is never replaced
          // behind the user's back (see TerminalConnection).
          if (data === '\r') {
            connection.restart();
          }
          return; // Typing into an ended session goes nowhere.
        }
        connection.write(data);
      })
    );
    // onBinary (mouse reports beyond column 95 in X10 mode) is not
    // forwarded: input is text on the wire and those bytes are not UTF-8.
    own(term.onResize(({ cols, rows }) => connection.resize(cols, rows)));
    if (term.textarea) {
      this._listen(term.textarea, 'focus', () => this._useWebgl(true));
    }
  }

  /** Follow the `renderer` option; `focused` may take another's context. */
  private _useWebgl(focused: boolean): void {
    const renderer = this._options.renderer;
    if (renderer === 'dom') {
      this._webgl?.dropWebgl();
    } else {
      this._webgl?.use(focused, renderer === 'webgl');
    }
  }

  private _listen(
    target: EventTarget,
    type: string,
    listener: (event: Event) => void
  ): void {
    target.addEventListener(type, listener);
    this._disposables.add(
      new DisposableDelegate(() => target.removeEventListener(type, listener))
    );
  }

  private _options: TerminalView.IOptions;
  private readonly _connection: TerminalConnection;
  private readonly _node: HTMLElement;
  private readonly _xtermNode: HTMLElement;
  private readonly _banner: StatusBanner;
  private readonly _observer: ResizeObserver;
  private readonly _disposables = new DisposableSet();
  private readonly _ready = new PromiseDelegate<void>();
  private _xterm: IXterm | null = null;
  private _term: Terminal | null = null;
  private _fit: FitAddon | null = null;
  private _search: SearchAddon | null = null;
  private _marks: CommandMarks | null = null;
  private _webgl: WebglRenderer | null = null;
  private _frame = 0;
  private _disposed = false;
}

/** Options for {@link TerminalView}. */
export namespace TerminalView {
  /** What hosts and settings may change. */
  export interface IOptions {
    fontSize: number;
    fontFamily: string;
    /** Lines kept above the screen. */
    scrollback: number;
    /** Line height, a multiple of the font size. */
    lineHeight: number;
    cursorBlink: boolean;
    /** xterm.js's screen reader mode (an accessible copy of the screen). */
    screenReaderMode: boolean;
    /** macOS: the Option key sends Meta (Alt) instead of composing characters. */
    macOptionIsMeta: boolean;
    /** `auto`: WebGL when a context is available, else DOM. */
    renderer: 'auto' | 'webgl' | 'dom';
    theme: ThemeName;
    /** Fixed number of rows (height follows); null fills the host. */
    rows: number | null;
  }

  /** Defaults, as in JupyterLab's terminal where it has one. */
  export const defaultOptions: IOptions = {
    fontSize: 13,
    fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace',
    scrollback: 10000,
    lineHeight: 1.0,
    cursorBlink: true,
    screenReaderMode: false,
    macOptionIsMeta: false,
    renderer: 'auto',
    theme: 'dark',
    rows: null
  };
}

namespace Private {
  /** The view options that are xterm.js options of the same name. */
  const XTERM_KEYS = [
    'fontSize',
    'fontFamily',
    'scrollback',
    'lineHeight',
    'cursorBlink',
    'screenReaderMode',
    'macOptionIsMeta'
  ] as const;

  /** The xterm.js options that come straight from the view's options. */
  export function xtermOptions(
    options: TerminalView.IOptions
  ): Pick<TerminalView.IOptions, (typeof XTERM_KEYS)[number]> {
    return Object.fromEntries(
      XTERM_KEYS.map(key => [key, options[key]])
    ) as Pick<TerminalView.IOptions, (typeof XTERM_KEYS)[number]>;
  }
}

/**
 * What a shell user expects of a terminal beyond drawing it, for every place
 * a terminal shows: JupyterLab's own terminal tabs (`labterminal.ts`) and our
 * `TerminalView` in the side panel, our tabs, notebook outputs and the
 * ipywidget (`host.ts`). One implementation over an xterm.js `Terminal` and a
 * small {@link IExtrasHost} that says what differs between those places:
 *
 * - **Shift+Esc leaves the terminal**; **Ctrl+Shift+C** copies the selection
 *   (with a fallback where the asynchronous clipboard API is missing: plain
 *   HTTP, Firefox; see `clipboard.ts`); **Ctrl+Shift+V** pastes through the
 *   browser's own paste (no permission prompt, works over plain HTTP); the
 *   context menu's *Paste* reads the clipboard where the page may and asks
 *   the user to paste into a dialog where it may not (`pastebox.ts`).
 * - **Bell and activity**: a terminal the user does not see marks its tab (or,
 *   where there is no tab, shows a bell on itself) when it prints or rings.
 * - **OSC 52**: a program may write to the clipboard (opt-in, write-only,
 *   size-capped; a query is never answered).
 * - **Multi-line paste confirmation**, unless the shell asked for bracketed
 *   paste (then it cannot run a pasted line by itself).
 * - **File paths** printed that exist under the server root open in Jupyter on
 *   click (`pathlinks.ts`); **dropped files** upload into the shell's cwd and
 *   their quoted names are typed (`upload.ts`).
 *
 * Keys, pastes and drops are caught on the host's element in the capture
 * phase (before xterm.js's own listeners), so they work before xterm.js is
 * open; the rest needs the `Terminal`, given to {@link TerminalExtras.attach}.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { DisposableDelegate, DisposableSet } from '@lumino/disposable';
import { Platform } from '@lumino/domutils';
import { Title, Widget } from '@lumino/widgets';
import type { Terminal } from '@xterm/xterm';

import { copyText, readText } from './clipboard';
import { extrasContext } from './extrassettings';
import { __ } from './i18n';
import { osc52Text } from './termtext';
import { askForPaste } from './pastebox';
import { PathLinkProvider } from './pathlinks';
import { uploadFiles } from './upload';

/** What a bell or output in an unseen terminal leaves behind. */
export type Attention = 'bell' | 'activity';

/** The place a terminal shows in. */
export interface IExtrasHost {
  /** The element around the terminal: keys, pastes and drops are caught there. */
  readonly node: HTMLElement;
  /** Whether the user sees the terminal now (its tab is the current one...). */
  isShown(): boolean;
  /** A terminal not seen printed (`activity`) or rang (`bell`). */
  mark(kind: Attention): void;
  /** Move the keyboard out of the terminal (Shift+Esc). */
  leave(input: HTMLElement): void;
  /** Give the terminal the keyboard. */
  focus(): void;
  /** Type `text` into the session as input. */
  send(text: string): void;
  /** Paste `text` as the terminal pastes (bracketed when the program asked). */
  paste(text: string): void;
  /** The selected text. */
  selection(): string | null;
  /** The webpty session's id (undefined: not ours, or not attached). */
  sessionId(): string | undefined;
}

/** CSS classes of a marked tab title or (bell only) of a view without a tab. */
export const ACTIVITY_CLASS = 'jp-webpty-mod-activity';
export const BELL_CLASS = 'jp-webpty-mod-bell';

/** Add the mark of `kind` to `title` (its tab shows it). */
export function markTitle(title: Title<Widget>, kind: Attention): void {
  const cls = kind === 'bell' ? BELL_CLASS : ACTIVITY_CLASS;
  if (!title.className.split(/\s+/).includes(cls)) {
    title.className = (title.className + ' ' + cls).trim();
  }
}

/** Remove both marks from `title`. */
export function clearTitle(title: Title<Widget>): void {
  const kept = title.className
    .split(/\s+/)
    .filter(c => c !== ACTIVITY_CLASS && c !== BELL_CLASS);
  if (kept.join(' ') !== title.className) {
    title.className = kept.join(' ');
  }
}

/** One OSC 52 write at most this long (base64): as xterm.js's clipboard addon. */
export const MAX_OSC52 = 1 << 20;

/** The extras of one terminal; dispose with it. */
export class TerminalExtras {
  constructor(host: IExtrasHost) {
    this._host = host;
    const node = host.node;
    Private.byNode.set(node, this);
    this._listen(node, 'keydown', this._onKey, true);
    this._listen(node, 'paste', this._onPaste, true);
    this._listen(node, 'dragover', this._onDragOver);
    this._listen(node, 'drop', this._onDrop);
  }

  /** The extras of the terminal whose element is `node` or holds it. */
  static of(node: Element | null): TerminalExtras | null {
    for (let at = node; at; at = at.parentElement) {
      const found = Private.byNode.get(at);
      if (found) {
        return found;
      }
    }
    return null;
  }

  /** Whether {@link dispose} ran. */
  get isDisposed(): boolean {
    return this._disposables.isDisposed;
  }

  /** Start what needs xterm.js: bell, activity, OSC 52, path links, the paste check. */
  attach(term: Terminal): void {
    if (this.isDisposed || this._term) {
      return;
    }
    this._term = term;
    const host = this._host;
    const own = (disposable: { dispose(): void }) =>
      this._disposables.add(new DisposableDelegate(() => disposable.dispose()));
    own(
      term.onBell(() => {
        if (!host.isShown() || !document.hasFocus()) {
          host.mark('bell');
        }
      })
    );
    own(
      term.onWriteParsed(() => {
        if (!host.isShown()) {
          host.mark('activity');
        }
      })
    );
    own(
      term.parser.registerOscHandler(52, data => {
        if (extrasContext.settings.osc52Clipboard && data.length <= MAX_OSC52) {
          const text = osc52Text(data);
          if (text !== null) {
            void this._copy(text, 'osc52');
          }
        }
        return true; // Nothing else in the page answers it (never a query).
      })
    );
    own(
      term.registerLinkProvider(
        new PathLinkProvider(term, () => host.sessionId())
      )
    );
  }

  /** Copy the selection (context menu, Ctrl+Shift+C); false if there was none or it failed. */
  async copySelection(): Promise<boolean> {
    const text = this._host.selection();
    return text ? this._copy(text, 'selection') : false;
  }

  /** Select the whole buffer, scrollback included (context menu); false before xterm.js. */
  selectAll(): boolean {
    if (!this._term) {
      return false;
    }
    this._term.selectAll();
    this._host.focus();
    return true;
  }

  /** Paste the clipboard's text (context menu), asking first for several lines. */
  async pasteClipboard(): Promise<void> {
    // Read it where the page may (a secure context, allowed); elsewhere (plain HTTP, refused)
    // the user pastes into a dialog, which is the browser's own paste and always allowed.
    const text = (await readText()) ?? (await askForPaste());
    if (text === null) {
      this._host.focus(); // Cancelled.
      return;
    }
    await this._pasteChecked(text);
  }

  dispose(): void {
    Private.byNode.delete(this._host.node);
    this._disposables.dispose();
    this._term = null;
  }

  private _onKey = (event: Event): void => {
    const key = event as KeyboardEvent;
    if (!Private.isXtermInput(key.target)) {
      return;
    }
    if (key.key === 'Escape' && key.shiftKey) {
      key.preventDefault();
      key.stopPropagation();
      this._host.leave(key.target as HTMLElement);
      return;
    }
    // Ctrl+Shift+C / V: xterm.js would send ^C / ^V. macOS has Cmd+C / V.
    const letter = key.key.toLowerCase();
    if (
      Platform.IS_MAC ||
      !key.ctrlKey ||
      !key.shiftKey ||
      key.altKey ||
      (letter !== 'c' && letter !== 'v')
    ) {
      return;
    }
    key.stopPropagation(); // Not to xterm.js.
    if (letter === 'c') {
      key.preventDefault();
      void this.copySelection();
    }
    // V: the browser's own paste (as plain text) follows, into xterm.js's
    // textarea: `_onPaste`, then xterm.js, see it as any paste.
  };

  private _onPaste = (event: Event): void => {
    const paste = event as ClipboardEvent;
    const text = paste.clipboardData?.getData('text/plain') ?? '';
    if (!this._needsConfirmation(text)) {
      return;
    }
    paste.preventDefault();
    paste.stopPropagation();
    void this._pasteChecked(text);
  };

  private _onDragOver = (event: Event): void => {
    const drag = event as DragEvent;
    if (drag.dataTransfer?.types.includes('Files')) {
      drag.preventDefault();
      drag.dataTransfer.dropEffect = 'copy';
    }
  };

  private _onDrop = (event: Event): void => {
    const drop = event as DragEvent;
    const files = Array.from(drop.dataTransfer?.files ?? []);
    if (!files.length) {
      return;
    }
    drop.preventDefault();
    drop.stopPropagation();
    const host = this._host;
    void uploadFiles(files, host.sessionId()).then(typed => {
      if (typed) {
        host.send(typed);
        host.focus();
      }
    });
  };

  private _needsConfirmation(text: string): boolean {
    return (
      extrasContext.settings.confirmMultilinePaste &&
      Private.isMultiline(text) &&
      // A shell in bracketed paste mode receives it as one paste and runs nothing by itself.
      !this._term?.modes.bracketedPasteMode
    );
  }

  private async _pasteChecked(text: string): Promise<void> {
    const ok = !this._needsConfirmation(text) || (await Private.confirm(text));
    if (ok && !this.isDisposed) {
      this._host.paste(text);
    }
    this._host.focus();
  }

  private async _copy(
    text: string,
    what: 'selection' | 'osc52'
  ): Promise<boolean> {
    const ok = await copyText(text);
    if (ok) {
      return true;
    }
    if (what === 'osc52') {
      // Not the user's doing: no notification for each refused write.
      console.warn(
        'jupyter-webpty: a program wrote to the clipboard (OSC 52) but the browser refused it'
      );
    } else {
      Notification.warning(
        __('The browser refused to copy: select and press Ctrl+C instead.'),
        { autoClose: 5000 }
      );
    }
    return false;
  }

  private _listen(
    target: EventTarget,
    type: string,
    listener: (event: Event) => void,
    capture = false
  ): void {
    target.addEventListener(type, listener, capture);
    this._disposables.add(
      new DisposableDelegate(() =>
        target.removeEventListener(type, listener, capture)
      )
    );
  }

  private readonly _host: IExtrasHost;
  private readonly _disposables = new DisposableSet();
  private _term: Terminal | null = null;
}

namespace Private {
  export const byNode = new WeakMap<Element, TerminalExtras>();

  export function isXtermInput(target: EventTarget | null): boolean {
    return (
      target instanceof HTMLElement &&
      target.classList.contains('xterm-helper-textarea')
    );
  }

  export function isMultiline(text: string): boolean {
    return /[\r\n]/.test(text.replace(/[\r\n]+$/, ''));
  }

  export async function confirm(text: string): Promise<boolean> {
    const lines = text.replace(/[\r\n]+$/, '').split(/\r\n|\r|\n/).length;
    const body = document.createElement('pre');
    body.className = 'jp-webpty-paste-preview';
    body.textContent = text.length > 2000 ? text.slice(0, 2000) + '\n…' : text;
    const result = await showDialog({
      title: __('Paste %1 lines into the terminal?', lines),
      body: new Widget({ node: body }),
      buttons: [
        Dialog.cancelButton({ label: __('Cancel') }),
        Dialog.okButton({ label: __('Paste') })
      ]
    });
    return result.button.accept;
  }
}

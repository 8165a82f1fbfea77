/**
 * What JupyterLab's own terminal tabs lack, added to every one of them
 * (webpty sessions, and the built-in ones when the user opted out):
 *
 * - **Shift+Esc leaves the terminal** (focus moves to its tab) in one key,
 *   besides JupyterLab's Esc Esc; Ctrl+Shift+C / V copy and paste (JupyterLab's
 *   `terminal:copy` / `terminal:paste`). Ctrl and Alt combinations already
 *   reach the shell only (see the keydown listener).
 * - **Bell and activity** marks on the tab of a terminal that is not shown.
 * - **OSC 52**: a program may write to the clipboard (opt-in, write-only,
 *   size-capped; never read).
 * - **Multi-line paste confirmation**, unless the shell asked for bracketed
 *   paste (then it cannot run a pasted line by itself).
 * - **File paths** printed in the terminal that exist under the server root
 *   open in JupyterLab when clicked (Ctrl/Cmd+click not needed: xterm.js
 *   underlines them on hover).
 * - **Drop files** onto a terminal: they are uploaded into the shell's
 *   current directory (contents API, with progress) and their quoted paths
 *   are typed at the prompt.
 *
 * Path links and the bracketed-paste check need JupyterLab's private xterm.js
 * instance, through {@link xtermOf} (checked; off when a release changes it).
 * Everything else uses public API only.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminal, ITerminalTracker } from '@jupyterlab/terminal';
import { ITranslator } from '@jupyterlab/translation';
import { Platform } from '@lumino/domutils';
import { Widget } from '@lumino/widgets';
import type { ILink, Terminal } from '@xterm/xterm';

import { pageRoot, serverOptions } from './host';
import { OutputScanner, osc52Text, shellQuote } from './oscscan';
import { __, setTranslator } from './i18n';
import { xtermOf } from './labxterm';
import { relativeToRoot } from './paths';
import { SessionsClient } from './sessions';

/** Settings this plugin reads (in `jupyter-webpty:plugin`'s schema). */
interface IExtrasSettings {
  osc52Clipboard: boolean;
  confirmMultilinePaste: boolean;
  pathLinks: boolean;
}

const DEFAULTS: IExtrasSettings = {
  osc52Clipboard: false,
  confirmMultilinePaste: true,
  pathLinks: true
};

/** CSS classes on a terminal tab's title. */
export const ACTIVITY_CLASS = 'jp-webpty-mod-activity';
export const BELL_CLASS = 'jp-webpty-mod-bell';

type TerminalWidget = Widget & { content: ITerminal.ITerminal };

export const labTerminalPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-webpty:terminal-extras',
  description:
    'Shell keys, bell and activity marks, OSC 52, paste confirmation, path links and file drops for terminal tabs.',
  autoStart: true,
  requires: [ITerminalTracker],
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: ITerminalTracker,
    registry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    setTranslator(translator);
    const settings: IExtrasSettings = { ...DEFAULTS };
    if (registry) {
      void registry
        .load('jupyter-webpty:plugin')
        .then(loaded => {
          const read = () => {
            for (const key of Object.keys(
              DEFAULTS
            ) as (keyof IExtrasSettings)[]) {
              const value = loaded.get(key).composite;
              settings[key] =
                typeof value === 'boolean' ? value : DEFAULTS[key];
            }
          };
          read();
          loaded.changed.connect(read);
        })
        .catch(reason =>
          console.warn('jupyter-webpty: terminal settings not loaded', reason)
        );
    }
    const context: Private.IContext = { app, settings };
    tracker.widgetAdded.connect((_, widget) =>
      Private.decorate(context, widget as TerminalWidget)
    );
    tracker.forEach(widget =>
      Private.decorate(context, widget as TerminalWidget)
    );
    tracker.currentChanged.connect((_, widget) => {
      if (widget) {
        Private.clearMarks(widget);
      }
    });
  }
};

namespace Private {
  export interface IContext {
    app: JupyterFrontEnd;
    settings: IExtrasSettings;
  }

  export function clearMarks(widget: Widget): void {
    widget.title.className = widget.title.className
      .split(/\s+/)
      .filter(c => c !== ACTIVITY_CLASS && c !== BELL_CLASS)
      .join(' ');
  }

  function mark(widget: Widget, cls: string): void {
    if (!widget.title.className.split(/\s+/).includes(cls)) {
      widget.title.className = (widget.title.className + ' ' + cls).trim();
    }
  }

  /** Hook one terminal tab. */
  export function decorate(context: IContext, widget: TerminalWidget): void {
    const terminal = widget.content;
    const session = terminal.session;
    const scanner = new OutputScanner();
    session.messageReceived.connect((_, message) => {
      if (message.type !== 'stdout' || !message.content) {
        return;
      }
      const text = String(message.content[0] ?? '');
      const { bells, clipboard } = scanner.scan(text);
      const shown = widget.isVisible && document.hasFocus();
      if (!widget.isVisible) {
        mark(widget, bells ? BELL_CLASS : ACTIVITY_CLASS);
      } else if (bells && !shown) {
        mark(widget, BELL_CLASS);
      }
      if (clipboard.length && context.settings.osc52Clipboard) {
        const last = osc52Text(clipboard[clipboard.length - 1]);
        if (last !== null) {
          void writeClipboard(last);
        }
      }
    }, widget);

    const node = terminal.node;
    // JupyterLab's shortcuts stay out of the terminal, as in our own views:
    // Notebook 7 matches them in the capture phase, before any listener here,
    // and binds Ctrl+Shift+C to its command palette. Shift+Esc is the way out.
    node.setAttribute('data-lm-suppress-shortcuts', 'true');
    // Capture phase: before xterm.js, which would send ESC to the shell. The
    // other keys need nothing from us: xterm.js stops the propagation of every
    // key it turns into input (Ctrl+B, Ctrl+R, Alt+B, ...), and JupyterLab
    // matches its shortcuts in the bubbling phase, so they never see them.
    node.addEventListener(
      'keydown',
      event => {
        if (!isXtermInput(event.target)) {
          return;
        }
        if (event.key === 'Escape' && event.shiftKey) {
          leaveTerminal(widget, event.target as HTMLElement);
          event.preventDefault();
          event.stopPropagation();
          return;
        }
        // Ctrl+Shift+C / V: xterm.js would send ^C / ^V (and stop the key
        // there, so a JupyterLab shortcut could not run). macOS has Cmd+C / V.
        const key = event.key.toLowerCase();
        if (
          !Platform.IS_MAC &&
          event.ctrlKey &&
          event.shiftKey &&
          !event.altKey &&
          (key === 'c' || key === 'v')
        ) {
          event.preventDefault();
          event.stopPropagation();
          void context.app.commands.execute(
            key === 'c' ? 'terminal:copy' : 'terminal:paste'
          );
        }
      },
      true
    );

    // Capture phase: before xterm.js's own paste handler on its textarea.
    node.addEventListener(
      'paste',
      event => {
        const text = event.clipboardData?.getData('text/plain') ?? '';
        if (!context.settings.confirmMultilinePaste || !isMultiline(text)) {
          return;
        }
        const term = xtermOf(terminal);
        if (term?.modes.bracketedPasteMode) {
          return; // The shell receives it as one paste and runs nothing by itself.
        }
        event.preventDefault();
        event.stopPropagation();
        void confirmPaste(text).then(ok => {
          if (ok) {
            terminal.paste(text);
          }
          terminal.activate();
        });
      },
      true
    );

    node.addEventListener('dragover', event => {
      if (event.dataTransfer?.types.includes('Files')) {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
      }
    });
    node.addEventListener('drop', event => {
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (!files.length) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      void upload(context, terminal, files);
    });

    // `ready` is on JupyterLab's Terminal class, not on the ITerminal interface.
    const ready =
      (terminal as { ready?: Promise<void> }).ready ?? Promise.resolve();
    void ready.then(() => {
      if (widget.isDisposed) {
        return;
      }
      const term = xtermOf(terminal);
      if (term) {
        const links = term.registerLinkProvider(
          new PathLinkProvider(context, terminal, term)
        );
        widget.disposed.connect(() => links.dispose());
      }
    });
  }

  /**
   * Move focus from the terminal to its tab (keyboard users continue from
   * there), or nowhere when the tab is not found. Focusing the widget itself
   * would not do: activating it focuses xterm.js again.
   */
  function leaveTerminal(widget: Widget, input: HTMLElement): void {
    input.blur();
    const tabs = document.querySelectorAll<HTMLElement>(
      '.lm-TabBar-tab.lm-mod-current'
    );
    for (const tab of Array.from(tabs)) {
      const label = tab.querySelector('.lm-TabBar-tabLabel')?.textContent;
      if (label === widget.title.label) {
        tab.tabIndex = 0;
        tab.focus();
        return;
      }
    }
  }

  function isXtermInput(target: EventTarget | null): boolean {
    return (
      target instanceof HTMLElement &&
      target.classList.contains('xterm-helper-textarea')
    );
  }

  function isMultiline(text: string): boolean {
    return /[\r\n]/.test(text.replace(/[\r\n]+$/, ''));
  }

  async function confirmPaste(text: string): Promise<boolean> {
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

  /** Write `text` to the clipboard; over plain HTTP, the older copy command. */
  async function writeClipboard(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // No Clipboard API (not a secure context, or no focus): fall through.
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    const active = document.activeElement as HTMLElement | null;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    active?.focus();
    if (!ok) {
      console.warn(
        'jupyter-webpty: a program wrote to the clipboard (OSC 52) but the browser refused it'
      );
    }
  }

  let client: SessionsClient | null = null;
  const cwdCache = new Map<string, { at: number; cwd: string | null }>();

  /**
   * The shell's current directory as a contents-API path ('' for the root),
   * or null when unknown or outside the root. Cached briefly: hovering asks often.
   */
  export async function cwdOf(
    terminal: ITerminal.ITerminal,
    maxAgeMs = 2000
  ): Promise<string | null> {
    const name = terminal.session.name;
    const hit = cwdCache.get(name);
    if (hit && performance.now() - hit.at < maxAgeMs) {
      return hit.cwd;
    }
    let cwd: string | null = null;
    try {
      client ??= new SessionsClient(serverOptions());
      const info = (await client.list()).find(s => s.name === name);
      const root = pageRoot();
      cwd = info?.cwd && root ? relativeToRoot(info.cwd, root) : null;
    } catch {
      cwd = null;
    }
    cwdCache.set(name, { at: performance.now(), cwd });
    return cwd;
  }

  const CHUNK = 1024 * 1024;

  async function upload(
    context: IContext,
    terminal: ITerminal.ITerminal,
    files: File[]
  ): Promise<void> {
    const { app } = context;
    const dir = await cwdOf(terminal, 0);
    if (dir === null) {
      Notification.error(
        __(
          "Cannot upload: the terminal's directory is unknown or outside the server root."
        ),
        { autoClose: 5000 }
      );
      return;
    }
    const total = files.reduce((sum, f) => sum + f.size, 0) || 1;
    let done = 0;
    const id = Notification.emit(
      __('Uploading %1 file(s) to %2', files.length, '/' + dir),
      'in-progress',
      { progress: 0, autoClose: false }
    );
    const typed: string[] = [];
    try {
      for (const file of files) {
        const path = PathExt.join(dir, file.name);
        const chunks = Math.max(1, Math.ceil(file.size / CHUNK));
        for (let i = 0; i < chunks; i++) {
          const part = file.slice(i * CHUNK, (i + 1) * CHUNK);
          const content = await toBase64(part);
          await app.serviceManager.contents.save(path, {
            type: 'file',
            format: 'base64',
            content,
            // The contents API's chunked upload: 1, 2, ... and -1 for the last.
            ...(chunks > 1 ? { chunk: i === chunks - 1 ? -1 : i + 1 } : {})
          });
          done += part.size;
          Notification.update({ id, progress: done / total });
        }
        typed.push(shellQuote(file.name));
      }
      Notification.update({
        id,
        message: __('Uploaded %1 file(s) to %2', files.length, '/' + dir),
        type: 'success',
        progress: 1,
        autoClose: 3000
      });
    } catch (reason) {
      Notification.update({
        id,
        message: __('Upload failed: %1', String(reason)),
        type: 'error',
        autoClose: false
      });
    }
    if (typed.length) {
      // Names relative to the shell's cwd, which is where they went.
      terminal.session.send({
        type: 'stdin',
        content: [typed.join(' ') + ' ']
      });
      terminal.activate();
    }
  }

  async function toBase64(blob: Blob): Promise<string> {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  /** Candidate paths in a line: `a/b.txt`, `./x`, `../y/z`, `name.ext`, with `:line` dropped. */
  const PATH =
    /(?:\.{1,2}\/|\/)?(?:[\w@.+-]+\/)*[\w@+-][\w@.+-]*(?::\d+(?::\d+)?)?/g;

  /** Underlines printed paths that exist under the server root; a click opens them. */
  class PathLinkProvider {
    constructor(
      private readonly _context: IContext,
      private readonly _terminal: ITerminal.ITerminal,
      private readonly _term: Terminal
    ) {}

    provideLinks(
      y: number,
      callback: (links: ILink[] | undefined) => void
    ): void {
      if (!this._context.settings.pathLinks) {
        callback(undefined);
        return;
      }
      const line =
        this._term.buffer.active.getLine(y - 1)?.translateToString(true) ?? '';
      void this._links(line, y).then(callback, () => callback(undefined));
    }

    private async _links(
      line: string,
      y: number
    ): Promise<ILink[] | undefined> {
      const candidates: { text: string; path: string; index: number }[] = [];
      for (const match of line.matchAll(PATH)) {
        const text = match[0];
        const path = text.replace(/:\d+(?::\d+)?$/, '');
        // A bare word is not a path: it needs a slash or an extension.
        if (!path.includes('/') && !/\.\w{1,10}$/.test(path)) {
          continue;
        }
        if (/^\.+$/.test(path) || /^\w+:\/\//.test(line.slice(match.index))) {
          continue;
        }
        candidates.push({ text, path, index: match.index ?? 0 });
      }
      if (!candidates.length) {
        return undefined;
      }
      const cwd = await cwdOf(this._terminal);
      const root = pageRoot();
      const links: ILink[] = [];
      for (const { text, path, index } of candidates.slice(0, 20)) {
        const resolved = resolvePath(path, cwd, root);
        if (resolved === null) {
          continue;
        }
        const kind = await existing(this._context, resolved);
        if (kind === null) {
          continue;
        }
        links.push({
          text,
          range: {
            start: { x: index + 1, y },
            end: { x: index + text.length, y }
          },
          activate: () => {
            const { commands } = this._context.app;
            if (kind === 'directory') {
              void commands.execute('filebrowser:go-to-path', {
                path: '/' + resolved
              });
            } else {
              void commands.execute('docmanager:open', { path: resolved });
            }
          }
        });
      }
      return links.length ? links : undefined;
    }
  }

  /** `path` as printed, as a contents-API path, or null when outside the root. */
  export function resolvePath(
    path: string,
    cwd: string | null,
    root: string
  ): string | null {
    if (path.startsWith('/')) {
      return root ? relativeToRoot(path, root) : null;
    }
    if (cwd === null) {
      return null;
    }
    const joined = PathExt.normalize(PathExt.join(cwd, path));
    return joined.startsWith('..') ? null : joined;
  }

  const existsCache = new Map<string, { at: number; kind: string | null }>();

  /** 'file', 'directory', 'notebook' or null, asked of the contents API (cached 5 s). */
  async function existing(
    context: IContext,
    path: string
  ): Promise<string | null> {
    const hit = existsCache.get(path);
    if (hit && performance.now() - hit.at < 5000) {
      return hit.kind;
    }
    let kind: string | null = null;
    try {
      const model = await context.app.serviceManager.contents.get(path, {
        content: false
      });
      kind = model.type;
    } catch {
      kind = null;
    }
    if (existsCache.size > 500) {
      existsCache.clear();
    }
    existsCache.set(path, { at: performance.now(), kind });
    return kind;
  }
}

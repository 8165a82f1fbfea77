/**
 * Command marks: where each shell command started and how it ended, drawn in
 * the terminal's left gutter, and jumps between commands (Ctrl+Up/Down).
 *
 * Read from the terminal's own parser, as VS Code does: the shell-integration
 * marks the server's init files make the shell print (docs/protocol.md, "Shell
 * integration") reach xterm.js with the output, which ignores them otherwise.
 * `OSC 133;A` (prompt start) puts a marker on the prompt's first line,
 * `OSC 133;C` (command start) draws a neutral mark there, and `OSC 133;D;<code>`
 * turns it green (0) or red (anything else). A prompt left with Enter on an
 * empty line gets no mark (bash prints no C for it). Because the marks travel
 * with the output, a view attached later replays them with the retained
 * output; a screen the server restored from a point mid-stream has marks from
 * that point on. Nothing here knows of Jupyter or of the connection.
 */
import type { IDecoration, IMarker, Terminal } from '@xterm/xterm';

import type { IDisposable } from '@xterm/xterm';

/** Where a command is: `unknown` ended without an exit code. */
export type CommandState = 'running' | 'success' | 'failure' | 'unknown';

/** One command as the terminal saw it. */
export interface ICommandMark {
  /** Buffer line of its prompt (changes as lines scroll off). */
  readonly line: number;
  readonly command: string | null;
  readonly state: CommandState;
  readonly exitCode: number | null;
}

/** Ctrl+Up or Ctrl+Down with nothing else held: the jump keys. */
export function isJumpKey(event: KeyboardEvent): boolean {
  return (
    event.ctrlKey &&
    !event.shiftKey &&
    !event.altKey &&
    !event.metaKey &&
    (event.key === 'ArrowUp' || event.key === 'ArrowDown')
  );
}

/** Command marks of one xterm.js terminal; dispose with it. */
export class CommandMarks implements IDisposable {
  constructor(term: Terminal) {
    this._term = term;
    // Return false: the mark stays visible to any other handler.
    this._disposables.push(
      term.parser.registerOscHandler(133, data => {
        this._onMark(data);
        return false;
      }),
      // ESC c (a full reset, as before a restored screen): a prompt seen
      // before it is on the discarded buffer.
      term.parser.registerEscHandler({ final: 'c' }, () => {
        this._prompt?.dispose();
        this._prompt = null;
        return false;
      }),
      term.parser.registerOscHandler(633, data => {
        if (data.startsWith('E;')) {
          this._commandLine = Private.unescape(data.slice(2));
        }
        return false;
      })
    );
  }

  /** The commands still in the buffer, oldest first. */
  get commands(): ICommandMark[] {
    return this._marks.map(mark => ({
      line: mark.marker.line,
      command: mark.command,
      state: mark.state,
      exitCode: mark.exitCode
    }));
  }

  /** Whether Ctrl+Up/Down mean "jump": some command is marked, the normal screen shows. */
  get canJump(): boolean {
    return this._marks.length > 0 && !this._isAlternate();
  }

  /** Scroll the previous command's prompt to the top; false if there is none. */
  previous(): boolean {
    const base = this._position();
    const earlier = this._lines().filter(line => line < base);
    return earlier.length > 0 && this._jump(earlier[earlier.length - 1]);
  }

  /** Scroll the next command's prompt to the top, or to the bottom after the last one. */
  next(): boolean {
    const base = this._position();
    const later = this._lines().find(line => line > base);
    if (later === undefined) {
      this._select(null);
      this._term.scrollToBottom();
      return false;
    }
    return this._jump(later);
  }

  dispose(): void {
    for (const disposable of this._disposables.splice(0)) {
      disposable.dispose();
    }
    for (const mark of this._marks.splice(0)) {
      mark.marker.dispose();
    }
    this._prompt?.dispose();
    this._prompt = null;
  }

  private _onMark(data: string): void {
    const [kind, code] = data.split(';');
    if (this._isAlternate()) {
      return; // A full-screen program's screen has no scrollback to mark.
    }
    if (kind === 'A') {
      this._prompt?.dispose(); // An empty command line: no mark for it.
      this._prompt = this._term.registerMarker(0) ?? null;
    } else if (kind === 'C') {
      const marker = this._prompt ?? this._term.registerMarker(0);
      this._prompt = null;
      if (marker) {
        this._add(marker, this._commandLine);
      }
      this._commandLine = null;
    } else if (kind === 'D') {
      const mark = this._marks[this._marks.length - 1];
      if (mark && mark.state === 'running') {
        const exitCode =
          code && /^-?\d{1,10}$/.test(code) ? Number(code) : null;
        mark.exitCode = exitCode;
        mark.state =
          exitCode === null
            ? 'unknown'
            : exitCode === 0
              ? 'success'
              : 'failure';
        Private.paint(mark);
      }
    }
  }

  private _add(marker: IMarker, command: string | null): void {
    const mark: Private.IMark = {
      marker,
      decoration: undefined,
      command,
      state: 'running',
      exitCode: null,
      selected: false
    };
    this._marks.push(mark);
    // Lines that scroll out of the scrollback take their markers with them;
    // a terminal reset (ESC c: a restored screen) drops the decorations but
    // leaves the markers on the old buffer. Either ends the mark.
    const drop = () => {
      const index = this._marks.indexOf(mark);
      if (index >= 0) {
        this._marks.splice(index, 1);
        mark.decoration?.dispose();
        marker.dispose();
      }
    };
    marker.onDispose(drop);
    const decoration = this._term.registerDecoration({ marker, width: 1 });
    if (decoration) {
      mark.decoration = decoration;
      decoration.onDispose(drop);
      // xterm.js renders it when its line is on screen (and again on scrolls).
      decoration.onRender(() => Private.paint(mark));
    }
  }

  private _lines(): number[] {
    return this._marks
      .map(mark => mark.marker.line)
      .filter(line => line >= 0)
      .sort((a, b) => a - b);
  }

  /**
   * Where a jump starts from: the command jumped to last while the viewport
   * has not moved since; else the cursor's line when the viewport is at the
   * bottom (so a command still on screen counts as earlier); else the top
   * line of what the user scrolled to.
   */
  private _position(): number {
    const buffer = this._term.buffer.active;
    const selected = this._marks.find(mark => mark.selected);
    if (selected && buffer.viewportY === this._jumpViewport) {
      return selected.marker.line;
    }
    if (buffer.viewportY === buffer.baseY) {
      return buffer.baseY + buffer.cursorY;
    }
    return buffer.viewportY;
  }

  private _jump(line: number): boolean {
    this._term.scrollToLine(line);
    this._jumpViewport = this._term.buffer.active.viewportY;
    this._select(this._marks.find(mark => mark.marker.line === line) ?? null);
    return true;
  }

  private _select(target: Private.IMark | null): void {
    for (const mark of this._marks) {
      if (mark.selected !== (mark === target)) {
        mark.selected = mark === target;
        Private.paint(mark);
      }
    }
  }

  private _isAlternate(): boolean {
    return this._term.buffer.active.type === 'alternate';
  }

  private readonly _term: Terminal;
  private readonly _disposables: IDisposable[] = [];
  private readonly _marks: Private.IMark[] = [];
  private _prompt: IMarker | null = null;
  private _commandLine: string | null = null;
  private _jumpViewport = -1;
}

namespace Private {
  /** A command's marker, its drawing and what is known of it. */
  export interface IMark {
    marker: IMarker;
    decoration: IDecoration | undefined;
    command: string | null;
    state: CommandState;
    exitCode: number | null;
    /** The command jumped to last (outlined). */
    selected: boolean;
  }

  /** Classes and tooltip of a mark's element, if drawn. */
  export function paint(mark: IMark): void {
    const element = mark.decoration?.element;
    if (!element) {
      return;
    }
    element.classList.add('jp-WebPty-commandMark');
    for (const state of ['running', 'success', 'failure', 'unknown']) {
      element.classList.toggle(`jp-mod-${state}`, mark.state === state);
    }
    element.classList.toggle('jp-mod-selected', mark.selected);
    element.dataset.exitCode = mark.exitCode === null ? '' : `${mark.exitCode}`;
    const what = mark.command ? `"${mark.command}"` : 'Command';
    element.title =
      mark.state === 'running'
        ? `${what} is running`
        : mark.exitCode === null
          ? `${what} ended`
          : `${what} exited with ${mark.exitCode}`;
  }

  /** The init files escape `\` as `\\` and `;`, newlines and controls as `\xNN`. */
  export function unescape(text: string): string {
    return text.replace(/\\(\\|x([0-9a-fA-F]{2}))/g, (_, escaped, hex) =>
      hex ? String.fromCharCode(parseInt(hex, 16)) : escaped
    );
  }
}

/**
 * Command marks and Ctrl+Up/Down jumps in JupyterLab's own terminal widget,
 * for the webpty sessions it shows (Launcher, File > New > Terminal, ...).
 *
 * A private field, by choice: `@jupyterlab/terminal`'s `Terminal` widget has
 * no public way to its xterm.js instance, which decorations need; it keeps it
 * in `_term` (so named from JupyterLab 1 to 4.6). We read it once the widget
 * is ready and use it only if it looks like an xterm.js terminal with the
 * decoration API; otherwise (a JupyterLab that renamed the field) those tabs
 * simply have no marks and the keys reach the shell, nothing breaks. Copy
 * Output of Last Command needs only the session id and works regardless. The
 * alternative, our own `TerminalView` in those tabs, would give up JupyterLab's
 * terminal settings, search and keyboard handling (see the README).
 *
 * The widget installs xterm's single custom key handler itself, so the jump
 * keys are taken before xterm sees them: a capture-phase listener on the
 * widget's node.
 */
import { ITerminal, Terminal as TerminalWidget } from '@jupyterlab/terminal';
import type { Terminal } from '@xterm/xterm';

import { CommandMarks, isJumpKey } from './commandmarks';
import { IDisposable } from './emitter';

/** Add marks to `widget` once it is ready; dispose to remove them. */
export function addCommandMarks(widget: ITerminal.ITerminal): IDisposable {
  let marks: CommandMarks | null = null;
  let disposed = false;
  const onKey = (event: KeyboardEvent) => {
    if (!marks?.canJump || !isJumpKey(event)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation(); // Before xterm's textarea: no ^[[1;5A to the shell.
    if (event.key === 'ArrowUp') {
      marks.previous();
    } else {
      marks.next();
    }
  };
  if (!(widget instanceof TerminalWidget)) {
    return { dispose: () => undefined }; // Another extension's terminal widget.
  }
  void widget.ready.then(() => {
    const term = Private.xtermOf(widget);
    if (disposed || !term) {
      return;
    }
    marks = new CommandMarks(term);
    widget.node.addEventListener('keydown', onKey, true);
  });
  return {
    dispose: () => {
      disposed = true;
      widget.node.removeEventListener('keydown', onKey, true);
      marks?.dispose();
      marks = null;
    }
  };
}

namespace Private {
  /** The widget's xterm.js terminal, if the private field still holds one. */
  export function xtermOf(widget: ITerminal.ITerminal): Terminal | null {
    const term = (widget as unknown as { _term?: Partial<Terminal> })._term;
    const usable =
      !!term &&
      typeof term.registerDecoration === 'function' &&
      typeof term.registerMarker === 'function' &&
      typeof term.parser?.registerOscHandler === 'function';
    if (!usable) {
      console.warn(
        'jupyter-webpty: no xterm.js instance in JupyterLab terminal widget; no command marks there'
      );
    }
    return usable ? (term as Terminal) : null;
  }
}

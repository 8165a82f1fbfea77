/**
 * Command marks and Ctrl+Up/Down jumps in JupyterLab's own terminal widget,
 * for the webpty sessions it shows (Launcher, File > New > Terminal, ...).
 *
 * The xterm.js instance comes from {@link xtermOf} (a private field of
 * JupyterLab's widget, checked): without it those tabs have no marks and the
 * keys reach the shell, nothing breaks. Copy Output of Last Command needs only
 * the session id and works regardless.
 *
 * The widget installs xterm's single custom key handler itself, so the jump
 * keys are taken before xterm sees them: a capture-phase listener on the
 * widget's node.
 */
import { ITerminal, Terminal as TerminalWidget } from '@jupyterlab/terminal';

import { CommandMarks, isJumpKey } from './commandmarks';
import type { IDisposable } from '@xterm/xterm';
import { xtermOf } from './labxterm';

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
    const term = xtermOf(widget);
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

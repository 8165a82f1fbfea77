/**
 * The one place that reaches into JupyterLab's terminal widget for its
 * xterm.js instance.
 *
 * `@jupyterlab/terminal`'s `Terminal` widget has no public way to its xterm.js
 * terminal; it keeps it in the private field `_term` (so named from
 * JupyterLab 1 to 4.6, xterm.js 5.5 there). Command marks
 * (`labmarks.ts`), path links and the bracketed-paste check
 * (`labterminal.ts`) need it. This accessor checks the shape they rely on and
 * gives null otherwise (with one console warning): a JupyterLab that renames
 * the field loses those features in its tabs and nothing else breaks. The
 * alternative, our own `TerminalView` in those tabs, would give up
 * JupyterLab's terminal settings, search and keyboard handling (README).
 */
import type { ITerminal } from '@jupyterlab/terminal';
import type { Terminal } from '@xterm/xterm';

let warned = false;

/** The widget's xterm.js terminal, when its private field has the expected shape. */
export function xtermOf(widget: ITerminal.ITerminal): Terminal | null {
  const term = (widget as unknown as { _term?: Partial<Terminal> })._term;
  const usable =
    !!term &&
    typeof term.registerDecoration === 'function' &&
    typeof term.registerMarker === 'function' &&
    typeof term.registerLinkProvider === 'function' &&
    typeof term.parser?.registerOscHandler === 'function' &&
    term.modes !== undefined &&
    term.buffer !== undefined;
  if (!usable && !warned) {
    warned = true;
    console.warn(
      'jupyter-webpty: no usable xterm.js instance in JupyterLab terminal widgets; command marks, path links and the bracketed-paste check are off there'
    );
  }
  return usable ? (term as Terminal) : null;
}

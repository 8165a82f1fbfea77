/**
 * A renderer for `application/vnd.jupyter.webpty.terminal+json` outputs.
 *
 * The output names a session; the terminal attaches to it by name (creating
 * it if missing), so it needs no kernel and survives kernel restarts and page
 * reloads. Once shown, the output remembers its session's id in this browser
 * (`known.ts`): re-rendered after the server restarted, it says the shell is
 * gone instead of starting a fresh one under the old name. Outputs of the Python widget carry this type next to the widget
 * view, and our lower rank makes JupyterLab pick this one.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ITerminalHandle, showTerminal } from './host';
import { __ } from './i18n';
import { knownSession, rememberSession } from './known';
import {
  DEFAULT_ROWS,
  MAX_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_SIZE,
  MIME_TYPE,
  MIN_SIZE
} from './protocol';

/** Below the widget-view renderer's -10, so ours wins when both are present. */
export const RANK = -20;
/** Longest `display` key. */
const MAX_DISPLAY_CHARS = 64;

/** The output's data. */
export interface ITerminalOutput {
  session: string;
  height?: number | null;
  cwd?: string | null;
  /** Random per display (Python widget): the key of the remembered session id. */
  display?: string | null;
}

/** Check untrusted output data; returns an error message or the data. */
export function parseOutput(data: unknown): ITerminalOutput | string {
  const { session, height, cwd, display } = (data ?? {}) as Record<
    string,
    unknown
  >;
  if (typeof session !== 'string' || !session.trim()) {
    return '"session" must be a non-empty string';
  }
  if (session.length > MAX_NAME_CHARS) {
    return `"session" is longer than ${MAX_NAME_CHARS} characters`;
  }
  const isRows =
    typeof height === 'number' &&
    Number.isInteger(height) &&
    height >= MIN_SIZE &&
    height <= MAX_SIZE;
  if (height !== undefined && height !== null && !isRows) {
    return `"height" must be a number of rows (${MIN_SIZE} to ${MAX_SIZE}) or null`;
  }
  if (cwd !== undefined && cwd !== null) {
    if (typeof cwd !== 'string' || cwd.length > MAX_PATH_CHARS) {
      return '"cwd" must be a path or null';
    }
  }
  if (display !== undefined && display !== null) {
    if (typeof display !== 'string' || display.length > MAX_DISPLAY_CHARS) {
      return '"display" must be a short string or null';
    }
  }
  return {
    session,
    height: height as number | null,
    cwd: cwd as string,
    display: display as string | null
  };
}

/** Shows the named session's terminal in an output area. */
export class TerminalRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('jp-WebPty-output');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const parsed = parseOutput(model.data[MIME_TYPE]);
    const key = JSON.stringify(parsed);
    if (key === this._key) {
      return; // Re-rendered with the same data: keep the live terminal.
    }
    this._key = key;
    this._handle?.dispose();
    this._handle = null;
    this.node.textContent = '';
    if (typeof parsed === 'string') {
      const error = document.createElement('pre');
      error.className = 'jp-WebPty-error';
      error.textContent = __('Cannot show terminal: %1', parsed);
      this.node.appendChild(error);
      return;
    }
    const known = parsed.display ? `output:${parsed.display}` : null;
    const handle = showTerminal(
      this.node,
      {
        name: parsed.session,
        sessionId: known ? knownSession(known) : undefined,
        create: true,
        cwd: parsed.cwd
      },
      parsed.height ?? DEFAULT_ROWS
    );
    if (known) {
      handle.connection.attached.connect((_, identity) =>
        rememberSession(known, identity.session_id)
      );
    }
    this._handle = handle;
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._handle?.view.fit();
  }

  override dispose(): void {
    this._handle?.dispose();
    this._handle = null;
    super.dispose();
  }

  private _handle: ITerminalHandle | null = null;
  private _key = '';
}

/** The renderer factory: not safe, so untrusted notebooks show the text fallback. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: false,
  mimeTypes: [MIME_TYPE],
  defaultRank: RANK,
  createRenderer: () => new TerminalRenderer()
};

/** Adds the renderer to the application's registry (JupyterLab and Notebook 7). */
export const mimePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-webpty:mime',
  description: 'Renders terminal outputs attached to a session by name.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (_app: JupyterFrontEnd, rendermime: IRenderMimeRegistry) => {
    rendermime.addFactory(rendererFactory, RANK);
  }
};

/**
 * "Copy Output of Last Command": the text output of the last finished command
 * of the terminal the user means, from the server's command log (REST
 * `…/commands` and `…/output`: escape sequences removed, CRLF as LF), put on
 * the system clipboard.
 *
 * The terminal meant is the one right-clicked (context menu), else the one
 * that last had the keyboard, else JupyterLab's current terminal tab. Our
 * views carry their session id in the DOM (`data-session-id`, see
 * TerminalView), so views drawn by the widget bundle count too; JupyterLab's
 * own terminal widgets are found through their tracker, and count when their
 * session is ours (not with the `builtinTerminal` setting).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITerminalTracker } from '@jupyterlab/terminal';

import { copyText } from './clipboard';
import { API_PATH, ICommandInfo } from './protocol';
import { WebPtyTerminalConnection } from './termconnection';
import { __ } from './i18n';

/** What a command's output looked like on the server. */
export interface ICommandOutput {
  command: ICommandInfo;
  text: string;
  /** The output's beginning is no longer retained: `text` is its tail. */
  truncated: boolean;
}

/** The output of the last finished command of `sessionId`, or null if none finished yet. */
export async function lastCommandOutput(
  sessionId: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<ICommandOutput | null> {
  const base = URLExt.join(
    settings.baseUrl,
    API_PATH,
    encodeURIComponent(sessionId)
  );
  const log = (await Private.get(URLExt.join(base, 'commands'), settings)) as {
    commands: ICommandInfo[];
  };
  const command = [...log.commands].reverse().find(c => c.end !== null);
  if (!command) {
    return null;
  }
  const query = URLExt.objectToQueryString({
    start: command.start,
    end: command.end ?? ''
  });
  const output = (await Private.get(
    URLExt.join(base, 'output') + query,
    settings
  )) as { text: string; truncated: boolean };
  return { command, text: output.text, truncated: output.truncated };
}

/** Register the command `id` (palette and context menus are the caller's). */
export function addCopyOutputCommand(
  app: JupyterFrontEnd,
  id: string,
  terminals: ITerminalTracker | null
): void {
  const finder = new Private.TerminalFinder(app, terminals);
  app.commands.addCommand(id, {
    label: __('Copy Output of Last Command'),
    caption: __(
      "Copy the text output of the terminal's last finished command (shell integration)"
    ),
    execute: async () => {
      const sessionId = finder.sessionId();
      if (!sessionId) {
        Notification.warning(
          __('No persistent terminal to copy from: click into one first.'),
          { autoClose: 4000 }
        );
        return null;
      }
      let output: ICommandOutput | null;
      try {
        output = await lastCommandOutput(sessionId);
      } catch (error) {
        Notification.error(
          __("Cannot read the command's output: %1", String(error))
        );
        return null;
      }
      if (!output) {
        Notification.warning(
          __(
            'No command has finished in this terminal yet (or its shell has no shell integration).'
          ),
          { autoClose: 4000 }
        );
        return null;
      }
      // The click or key that ran the command is still recent enough for
      // the fallback (see clipboard.ts) after the two requests.
      if (!(await copyText(output.text))) {
        Notification.error(__('The browser refused to copy the output.'));
        return null;
      }
      const lines = output.text.split('\n').filter(Boolean).length;
      const name = output.command.command ?? __('the last command');
      Notification.success(
        output.truncated
          ? __(
              'Copied the output of "%1" (%2 line(s)): its beginning was no longer retained.',
              name,
              lines
            )
          : __('Copied the output of "%1" (%2 line(s)).', name, lines),
        { autoClose: 3000 }
      );
      return output;
    }
  });
}

namespace Private {
  const SELECTOR = '.jp-WebPty-view, .jp-Terminal';

  /** Which terminal the user means (see the module comment). */
  export class TerminalFinder {
    constructor(app: JupyterFrontEnd, terminals: ITerminalTracker | null) {
      this._app = app;
      this._terminals = terminals;
      // Capture phase: xterm.js's textarea takes focus inside the view.
      document.addEventListener(
        'focusin',
        event => {
          const target = event.target as Element | null;
          const node = target?.closest?.(SELECTOR);
          if (node) {
            this._lastFocused = node as HTMLElement;
          }
        },
        true
      );
    }

    /** The session id of the terminal meant, if it is one of ours. */
    sessionId(): string | undefined {
      const clicked = this._app.contextMenuHitTest(node =>
        node.matches(SELECTOR)
      );
      const focused = this._lastFocused?.isConnected
        ? this._lastFocused
        : undefined;
      const node = clicked ?? focused;
      if (node) {
        return this._sessionOf(node);
      }
      const current = this._terminals?.currentWidget?.content.session;
      return current instanceof WebPtyTerminalConnection
        ? current.connection.sessionId
        : undefined;
    }

    private _sessionOf(node: HTMLElement): string | undefined {
      if (node.classList.contains('jp-WebPty-view')) {
        return node.dataset.sessionId || undefined;
      }
      const widget = this._terminals?.find(w => w.content.node === node);
      const session = widget?.content.session;
      return session instanceof WebPtyTerminalConnection
        ? session.connection.sessionId
        : undefined;
    }

    private readonly _app: JupyterFrontEnd;
    private readonly _terminals: ITerminalTracker | null;
    private _lastFocused: HTMLElement | undefined;
  }

  export async function get(
    url: string,
    settings: ServerConnection.ISettings
  ): Promise<unknown> {
    const response = await ServerConnection.makeRequest(url, {}, settings);
    if (!response.ok) {
      throw await ServerConnection.ResponseError.create(response);
    }
    return response.json();
  }
}

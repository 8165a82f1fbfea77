/**
 * What every host (side panel, main-area tab, notebook output, ipywidget)
 * shares: the server's address from the page config, the user's settings
 * and theme, and a one-call way to show a session in an element.
 */
import { PageConfig } from '@jupyterlab/coreutils';

import { TerminalConnection } from './connection';
import { serverRootPath } from './paths';
import { IDisposable } from './emitter';
import { IServerOptions } from './sockets';
import { TerminalView } from './terminal';

/** View options from settings and theme, applied to every live view. */
export class ViewSettings {
  /** Options for new views (everything but `rows`, which is per host). */
  get options(): Partial<TerminalView.IOptions> {
    return { ...this._options };
  }

  /** Change options and apply them to the live views. */
  update(options: Partial<TerminalView.IOptions>): void {
    // Settings may lack keys: undefined must not override the defaults.
    options = Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined)
    );
    this._options = { ...this._options, ...options };
    for (const view of this._views) {
      view.setOptions(options);
    }
  }

  /** Keep `view` up to date until it is disposed (or the result is). */
  track(view: TerminalView): IDisposable {
    this._views.add(view);
    return { dispose: () => this._views.delete(view) };
  }

  private _options: Partial<TerminalView.IOptions> = {
    // JupyterLab marks the body; a theme manager, when present, updates it.
    theme: document.body.dataset.jpThemeLight === 'false' ? 'dark' : 'light'
  };
  private _views = new Set<TerminalView>();
}

/** The page's settings, shared by all plugins of this extension. */
export const viewSettings = new ViewSettings();

/** A session shown in an element: dispose detaches and removes the view. */
export interface ITerminalHandle extends IDisposable {
  readonly view: TerminalView;
  readonly connection: TerminalConnection;
}

/**
 * Where the Jupyter server is, from the page's `jupyter-config-data`. The
 * token goes into websocket URLs only where the cookie cannot do (see
 * `isTokenNeeded`); the page option `appendToken` overrides, as in JupyterLab.
 */
export function serverOptions(): IServerOptions {
  const appendToken = PageConfig.getOption('appendToken').toLowerCase();
  return {
    baseUrl: PageConfig.getBaseUrl(),
    token: PageConfig.getToken(),
    appendToken: appendToken === '' ? undefined : appendToken === 'true'
  };
}

/** Show the session named in `options` inside `host`, following settings. */
export function showTerminal(
  host: HTMLElement,
  options: Omit<TerminalConnection.IOptions, 'socket'>,
  rows: number | null = null
): ITerminalHandle {
  const connection = new TerminalConnection({ ...serverOptions(), ...options });
  const view = new TerminalView(host, connection, {
    ...viewSettings.options,
    rows
  });
  const tracking = viewSettings.track(view);
  return {
    view,
    connection,
    dispose: () => {
      tracking.dispose();
      view.dispose();
      connection.dispose();
    }
  };
}

/** The server root, from the page config (JupyterLab's or Notebook 7's), or ''. */
export function pageRoot(): string {
  return (
    serverRootPath(
      PageConfig.getOption('serverRoot'),
      PageConfig.getOption('rootUri')
    ) ?? ''
  );
}

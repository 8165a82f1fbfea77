/**
 * What the page says about the server: its address and token, and the server
 * root (from JupyterLab's or Notebook 7's page config).
 */
import { PageConfig } from '@jupyterlab/coreutils';

import { serverRootPath } from './paths';
import { IServerOptions } from './sockets';

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

/** The server root, from the page config (JupyterLab's or Notebook 7's), or ''. */
export function pageRoot(): string {
  return (
    serverRootPath(
      PageConfig.getOption('serverRoot'),
      PageConfig.getOption('rootUri')
    ) ?? ''
  );
}

/**
 * "Open Terminal Here" and its way back, "Show Terminal's Directory".
 *
 * Open Terminal Here runs JupyterLab's own `terminal:create-new` with a `cwd`
 * (the right-clicked directory, or the file browser's current one), so the
 * terminal is JupyterLab's widget over a webpty session (our
 * `ITerminalManager`) and the built-in one when the user opted out: one code
 * path for both. The reverse command reads the session's live cwd (the server
 * reads `/proc/<pid>/cwd`, an absolute path) and points the file browser at
 * it, relative to the server root (in Notebook 7, whose terminal page has no
 * file browser, it opens the tree page there).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ITerminalTracker } from '@jupyterlab/terminal';

import { pageRoot, serverOptions } from './pageconfig';
import { terminalIcon } from './icon';
import { relativeToRoot } from './paths';
import { SessionsClient } from './sessions';
import { __ } from './i18n';

/** Command ids. */
export namespace OpenHereCommandIDs {
  export const openHere = 'webpty:open-terminal-here';
  export const showCwd = 'webpty:show-terminal-cwd';
}

/** The file browser's context-menu item and the terminal's "show directory". */
export const openHerePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-webpty:open-terminal-here',
  description:
    'Open a terminal in a directory of the file browser, and show the directory of a terminal there.',
  autoStart: true,
  optional: [IDefaultFileBrowser, ITerminalTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    browser: IDefaultFileBrowser | null,
    terminals: ITerminalTracker | null,
    palette: ICommandPalette | null
  ) => {
    const { commands } = app;
    const pathArg = (args: Record<string, unknown>): string | undefined =>
      typeof args.path === 'string' ? args.path : undefined;

    /** The directory meant: `path`, the right-clicked folder, or the browser's own. */
    const target = (args: Record<string, unknown>): string | undefined => {
      const given = pathArg(args);
      if (given !== undefined) {
        return given;
      }
      if (!browser) {
        return undefined;
      }
      // Right-clicking a folder selects it; on the listing's background the
      // selection may be stale, so only trust it when a folder was hit.
      const onItem = app.contextMenuHitTest(node =>
        node.classList.contains('jp-DirListing-item')
      );
      if (onItem) {
        const selected = browser.selectedItems().next();
        const item = selected && !selected.done ? selected.value : undefined;
        if (item?.type === 'directory') {
          return item.path;
        }
      }
      return browser.model.path;
    };

    commands.addCommand(OpenHereCommandIDs.openHere, {
      label: __('Open Terminal Here'),
      caption: __('Start a terminal in this directory'),
      icon: args => (args.isPalette ? undefined : terminalIcon),
      isVisible: args =>
        pathArg(args) !== undefined ||
        (browser !== null && commands.hasCommand('terminal:create-new')),
      execute: args =>
        commands.execute('terminal:create-new', { cwd: target(args) ?? '' })
    });

    let client: SessionsClient | null = null;
    commands.addCommand(OpenHereCommandIDs.showCwd, {
      label: __("Show Terminal's Directory in File Browser"),
      caption: __("Point the file browser at the shell's current directory"),
      isEnabled: () => !!terminals?.currentWidget,
      execute: async () => {
        const widget = terminals?.currentWidget;
        if (!widget) {
          return null;
        }
        const name = widget.content.session.name;
        // Made on first use: most pages never run this command.
        client ??= new SessionsClient(serverOptions());
        const info = (await client.list()).find(s => s.name === name);
        const root = pageRoot();
        const path = info?.cwd && root ? relativeToRoot(info.cwd, root) : null;
        if (path === null) {
          console.warn(
            `jupyter-webpty: the directory of terminal ${name} is unknown or outside the server root`
          );
          return null;
        }
        if (!browser?.isAttached) {
          // Notebook 7's terminal page shows no file browser: its tree page, in a new browser
          // tab as Notebook 7 opens documents from there.
          const url = URLExt.join(
            PageConfig.getBaseUrl(),
            'tree',
            URLExt.encodeParts(path)
          );
          window.open(url, '_blank');
          return path;
        }
        await browser.model.cd('/' + path);
        app.shell.activateById(browser.id);
        return path;
      }
    });

    // One item for the whole listing (a second one on folders would show
    // twice there): on a folder it opens in that folder, elsewhere in the
    // directory the browser shows.
    app.contextMenu.addItem({
      command: OpenHereCommandIDs.openHere,
      selector: '.jp-DirListing-content',
      rank: 1
    });
    app.contextMenu.addItem({
      command: OpenHereCommandIDs.showCwd,
      selector: '.jp-Terminal',
      rank: 100
    });
    palette?.addItem({
      command: OpenHereCommandIDs.showCwd,
      category: 'Terminal'
    });
  }
};

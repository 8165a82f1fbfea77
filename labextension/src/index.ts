/**
 * jupyter-webpty's JupyterLab / Notebook 7 plugins: the Terminals side panel
 * and its commands, the notebook output renderer and the ipywidget.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IThemeManager,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import {
  IServerSettings,
  ITerminalManager,
  ServerConnection,
  Terminal
} from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminalTracker } from '@jupyterlab/terminal';
import { ITranslator } from '@jupyterlab/translation';
import { pasteIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { addCopyOutputCommand } from './copyoutput';
import { TerminalExtras } from './extras';
import { viewSettings } from './host';
import { serverOptions } from './pageconfig';
import { addCommandMarks } from './labmarks';
import { terminalIcon } from './icon';
import { labTerminalPlugin } from './labterminal';
import { mimePlugin } from './mime';
import { openHerePlugin } from './openhere';
import { SessionsPanel } from './panel';
import { SessionsClient } from './sessions';
import { TerminalTab } from './tab';
import { WebPtyTerminalConnection } from './termconnection';
import { WebPtyTerminalManager } from './termmanager';
import { TerminalView } from './view';
import { widgetPlugin } from './ipywidget';
import { ThemeName } from './xterm';
import { __, setTranslator } from './i18n';

/** Command ids. */
export namespace CommandIDs {
  export const create = 'webpty:new';
  export const open = 'webpty:open';
  export const openInMain = 'webpty:open-in-main';
  export const close = 'webpty:close';
  export const copyLastOutput = 'webpty:copy-last-output';
  export const copy = 'webpty:copy';
  export const paste = 'webpty:paste';
  export const selectAll = 'webpty:select-all';
}

const PLUGIN_ID = 'jupyter-webpty:plugin';

/** JupyterLab's terminal settings, which our views follow too. */
const LAB_TERMINAL_SETTINGS = '@jupyterlab/terminal-extension:plugin';

/** The side panel, commands, settings and theme. ILabShell is not needed (Notebook 7). */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Persistent terminals in a side panel and in tabs.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ISettingRegistry,
    IThemeManager,
    ILayoutRestorer,
    ITerminalManager,
    ITerminalTracker,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settings: ISettingRegistry | null,
    themes: IThemeManager | null,
    restorer: ILayoutRestorer | null,
    terminals: Terminal.IManager | null,
    terminalTracker: ITerminalTracker | null,
    translator: ITranslator | null
  ) => {
    setTranslator(translator);
    // JupyterLab's terminal widget leaves its session connection open when its tab closes
    // (the shell keeps running, as it should); ours would keep streaming output to nobody.
    terminalTracker?.widgetAdded.connect((_, widget) => {
      const session = widget.content.session;
      if (session instanceof WebPtyTerminalConnection) {
        // Shell integration's command marks and jumps there too (see labmarks.ts).
        const marks = addCommandMarks(widget.content);
        // After the terminal widget's own dispose, not its tab's: the tab signals before its
        // content is disposed, and a connection disposed by then would make the terminal
        // skip `shutdownOnClose` (it shuts down only a live session).
        widget.content.disposed.connect(() => {
          marks.dispose();
          session.dispose();
        });
      }
    });
    // Our terminal manager waits for this choice (see `builtinTerminal`).
    const choose = (builtin: boolean) => {
      if (terminals instanceof WebPtyTerminalManager) {
        terminals.choose(builtin ? 'builtin' : 'webpty');
      }
    };
    const { commands, shell } = app;
    const tracker = new WidgetTracker<MainAreaWidget<TerminalTab>>({
      namespace: 'webpty'
    });
    const client = new SessionsClient(serverOptions());
    const panel = new SessionsPanel({
      client,
      openInMain: name => void commands.execute(CommandIDs.openInMain, { name })
    });
    shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, panel.id);

    const nameArg = (args: Record<string, unknown>): string | undefined =>
      typeof args.name === 'string' && args.name ? args.name : undefined;

    commands.addCommand(CommandIDs.create, {
      label: __('New Persistent Terminal'),
      caption: __('Start a terminal session that survives reloads'),
      icon: args => (args.isPalette ? undefined : terminalIcon),
      execute: () => {
        // Show the panel first: a view opens (and creates) once visible.
        shell.activateById(panel.id);
        return panel.newSession();
      }
    });
    commands.addCommand(CommandIDs.open, {
      label: args =>
        __('Show Persistent Terminal %1', nameArg(args) ?? '').trim(),
      execute: args => {
        shell.activateById(panel.id);
        const name = nameArg(args) ?? panel.selected;
        if (name) {
          panel.select(name);
        }
      }
    });
    commands.addCommand(CommandIDs.openInMain, {
      label: __('Open Persistent Terminal in a Tab'),
      icon: args => (args.isPalette ? undefined : terminalIcon),
      execute: args => {
        const name = nameArg(args) ?? panel.selected ?? undefined;
        const existing = tracker.find(w => w.content.name === name);
        if (existing && name) {
          shell.activateById(existing.id);
          return existing;
        }
        const restored = args.restored === true;
        const sessionId =
          typeof args.sessionId === 'string' && args.sessionId
            ? args.sessionId
            : undefined;
        const content = new TerminalTab(name, { create: !restored, sessionId });
        const widget = new MainAreaWidget({ content });
        widget.id = `jp-WebPty-tab-${Private.nextId++}`;
        widget.addClass('jp-WebPty-main');
        void tracker.add(widget);
        // Save the name for the layout restorer once the server gave it.
        const connection = content.handle.connection;
        let attached = false;
        connection.attached.connect(() => {
          attached = true;
          void tracker.save(widget);
        });
        // Like JupyterLab's terminals: the tab closes when its shell ends (exit, or closed from
        // the panel), and a restored tab whose session is gone closes instead of showing an
        // error. A tab that was live in this page stays open when its shell is lost with the
        // server, to say so (and start a new shell on Enter).
        connection.statusChanged.connect((_, status) => {
          const missing = status.state === 'error' || status.state === 'gone';
          if (status.state === 'exited' || (restored && !attached && missing)) {
            widget.dispose();
          }
        });
        shell.add(widget, 'main');
        shell.activateById(widget.id);
        return widget;
      }
    });
    commands.addCommand(CommandIDs.close, {
      label: args =>
        __('Close Persistent Terminal %1', nameArg(args) ?? '').trim() + '…',
      execute: async args => {
        const name = nameArg(args) ?? panel.selected;
        const info = (await client.list()).find(s => s.name === name);
        return info ? panel.closeSession(info) : false;
      }
    });
    addCopyOutputCommand(app, CommandIDs.copyLastOutput, terminalTracker);
    // Copy and paste in our views' context menu, as JupyterLab's terminal has.
    const extrasOf = () =>
      TerminalExtras.of(
        app.contextMenuHitTest(node =>
          node.matches('.jp-WebPty-view, .jp-Terminal')
        ) ?? document.activeElement
      );
    commands.addCommand(CommandIDs.copy, {
      label: __('Copy'),
      caption: __('Copy the selected text'),
      execute: () => extrasOf()?.copySelection()
    });
    // Ours in JupyterLab's terminals too, in place of `terminal:paste` (schema/plugin.json
    // disables that menu item): theirs calls `navigator.clipboard.readText()`, which does not
    // exist over plain HTTP, and pastes without the multi-line check. Ours falls back to a
    // dialog the user pastes into (pastebox.ts) and asks before pasting several lines.
    commands.addCommand(CommandIDs.paste, {
      label: __('Paste'),
      caption: __('Paste the clipboard into the terminal'),
      icon: pasteIcon.bindprops({ stylesheet: 'menuItem' }),
      execute: () => extrasOf()?.pasteClipboard()
    });
    app.contextMenu.addItem({
      command: CommandIDs.copy,
      selector: '.jp-WebPty-view',
      rank: 1
    });
    app.contextMenu.addItem({
      command: CommandIDs.paste,
      selector: '.jp-WebPty-view',
      rank: 2
    });
    // JupyterLab's terminal menu has Copy, Paste and Refresh; Select All is ours, in both.
    commands.addCommand(CommandIDs.selectAll, {
      label: __('Select All'),
      caption: __('Select the whole terminal buffer, scrollback included'),
      execute: () => extrasOf()?.selectAll() ?? false
    });
    for (const selector of ['.jp-WebPty-view', '.jp-Terminal']) {
      app.contextMenu.addItem({
        command: CommandIDs.selectAll,
        selector,
        rank: 3.5
      });
    }
    const menuOnly: string[] = [
      CommandIDs.copy,
      CommandIDs.paste,
      CommandIDs.selectAll
    ];
    for (const command of Object.values(CommandIDs)) {
      if (!menuOnly.includes(command)) {
        palette?.addItem({ command, category: 'Terminal' });
      }
    }
    // Our views and JupyterLab's terminal widget (its own items have rank 1..3).
    for (const selector of ['.jp-WebPty-view', '.jp-Terminal']) {
      app.contextMenu.addItem({
        command: CommandIDs.copyLastOutput,
        selector,
        rank: 4
      });
    }

    void restorer?.restore(tracker, {
      command: CommandIDs.openInMain,
      args: widget => ({
        name: widget.content.name ?? '',
        sessionId: widget.content.sessionId ?? '',
        restored: true
      }),
      name: widget => widget.content.name ?? ''
    });

    // Settings come from two places. What a user set in JupyterLab's terminal
    // settings (font, line height, theme, scrollback, cursor blink, screen
    // reader mode, macOS Option as Meta) applies to our views too; what they
    // set in ours (`jupyter-webpty:plugin`) wins over it; our defaults fill the
    // rest (`renderer` is ours alone).
    let pageTheme: ThemeName = viewSettings.options.theme ?? 'dark';
    let terminalTheme = 'inherit';
    const applyTheme = () =>
      viewSettings.update({
        theme:
          terminalTheme === 'light' || terminalTheme === 'dark'
            ? terminalTheme
            : pageTheme
      });
    if (themes) {
      const follow = () => {
        const theme = themes.theme;
        if (theme) {
          pageTheme = themes.isLight(theme) ? 'light' : 'dark';
          applyTheme();
        }
      };
      themes.themeChanged.connect(follow);
      follow();
    }

    if (settings) {
      let lab: Partial<TerminalView.IOptions> = {};
      let ours: Partial<TerminalView.IOptions> = {};
      const update = () => viewSettings.update({ ...lab, ...ours });
      void settings.load(LAB_TERMINAL_SETTINGS).then(
        loaded => {
          const read = () => {
            const c = loaded.composite;
            lab = Private.pick(loaded.user, [
              'fontSize',
              'fontFamily',
              'lineHeight',
              'scrollback',
              'cursorBlink',
              'screenReaderMode',
              'macOptionIsMeta'
            ]);
            terminalTheme = typeof c.theme === 'string' ? c.theme : 'inherit';
            applyTheme();
            update();
          };
          read();
          loaded.changed.connect(read);
        },
        () => undefined // No JupyterLab terminal plugin (e.g. disabled): ours alone.
      );
      const apply = (loaded: ISettingRegistry.ISettings) => {
        // Only what the user set, and the renderer (ours alone).
        ours = {
          ...Private.pick(loaded.user, [
            'fontSize',
            'fontFamily',
            'scrollback',
            'screenReaderMode'
          ]),
          renderer: loaded.composite
            .renderer as TerminalView.IOptions['renderer']
        };
        update();
      };
      settings.load(PLUGIN_ID).then(
        loaded => {
          choose(loaded.composite.builtinTerminal === true);
          apply(loaded);
          loaded.changed.connect(apply);
        },
        error => {
          choose(false);
          console.warn('jupyter-webpty: settings not loaded', error);
        }
      );
    } else {
      choose(false);
    }
  }
};

/**
 * JupyterLab's terminal service over webpty sessions: JupyterLab's own
 * terminal widget, the Launcher, File menu, Running panel and Notebook 7's
 * tree page use it. The core `@jupyterlab/services-extension:terminal-manager`
 * is disabled in package.json (`disabledExtensions`); the setting
 * `builtinTerminal` brings the built-in one back through this same manager.
 */
const managerPlugin: JupyterFrontEndPlugin<Terminal.IManager> = {
  id: 'jupyter-webpty:terminal-manager',
  description: 'Terminals opened anywhere in Jupyter are persistent sessions.',
  autoStart: true,
  provides: ITerminalManager,
  optional: [IServerSettings],
  activate: (
    _app: JupyterFrontEnd,
    serverSettings: ServerConnection.ISettings | null
  ) =>
    new WebPtyTerminalManager({
      server: serverOptions(),
      serverSettings: serverSettings ?? undefined
    })
};

namespace Private {
  export let nextId = 0;

  /** The entries of `from` named in `keys` that are set (JSON values, as settings are). */
  export function pick(
    from: ReadonlyPartialJSONObject,
    keys: (keyof TerminalView.IOptions)[]
  ): Partial<TerminalView.IOptions> {
    return Object.fromEntries(
      keys.filter(k => from[k] !== undefined).map(k => [k, from[k]])
    ) as Partial<TerminalView.IOptions>;
  }
}

// JupyterLab < 4.4 has no ITerminalManager token: nothing to replace there.
export default [
  plugin,
  ...(ITerminalManager ? [managerPlugin] : []),
  openHerePlugin,
  labTerminalPlugin,
  mimePlugin,
  widgetPlugin
];

/**
 * The terminal extras (`extras.ts`) on every JupyterLab / Notebook 7 terminal
 * tab (webpty sessions, and the built-in ones when the user opted out), and
 * the page's extras settings and services for every terminal.
 *
 * Bell, activity, OSC 52, path links and the bracketed-paste check need the
 * widget's private xterm.js instance, through {@link xtermOf} (checked; off
 * with one console warning when a release changes it). Keys, pastes and drops
 * need only the widget's public API. On a webpty session the same xterm.js
 * instance also makes flow control exact: acknowledgements follow its write
 * callbacks (`WebPtyTerminalConnection.ackAfter`).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITerminal, ITerminalTracker } from '@jupyterlab/terminal';
import { ITranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { clearTitle, IExtrasHost, markTitle, TerminalExtras } from './extras';
import {
  DEFAULT_SETTINGS,
  extrasContext,
  IExtrasSettings
} from './extrassettings';
import { setTranslator } from './i18n';
import { xtermOf } from './labxterm';
import { WebPtyTerminalConnection } from './termconnection';

type TerminalWidget = Widget & { content: ITerminal.ITerminal };

export const labTerminalPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-webpty:terminal-extras',
  description:
    'Shell keys, bell and activity marks, OSC 52, paste confirmation, path links and file drops for every terminal.',
  autoStart: true,
  optional: [ITerminalTracker, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: ITerminalTracker | null,
    registry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    setTranslator(translator);
    extrasContext.services = {
      commands: app.commands,
      contents: app.serviceManager.contents
    };
    if (registry) {
      void registry
        .load('jupyter-webpty:plugin')
        .then(loaded => {
          const read = () => {
            const settings = extrasContext.settings;
            for (const key of Object.keys(
              DEFAULT_SETTINGS
            ) as (keyof IExtrasSettings)[]) {
              const value = loaded.get(key).composite;
              settings[key] =
                typeof value === 'boolean' ? value : DEFAULT_SETTINGS[key];
            }
          };
          read();
          loaded.changed.connect(read);
        })
        .catch(reason =>
          console.warn('jupyter-webpty: terminal settings not loaded', reason)
        );
    }
    if (!tracker) {
      return; // No JupyterLab terminals (their plugin is disabled): our views only.
    }
    tracker.widgetAdded.connect((_, widget) =>
      Private.decorate(widget as TerminalWidget)
    );
    tracker.forEach(widget => Private.decorate(widget as TerminalWidget));
    tracker.currentChanged.connect((_, widget) => {
      if (widget) {
        clearTitle(widget.title);
      }
    });
  }
};

namespace Private {
  /** Hook one terminal tab. */
  export function decorate(widget: TerminalWidget): void {
    const terminal = widget.content;
    // JupyterLab's shortcuts stay out of the terminal, as in our own views:
    // Notebook 7 matches them in the capture phase, before any listener here,
    // and binds Ctrl+Shift+C to its command palette. Shift+Esc is the way out.
    terminal.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    const extras = new TerminalExtras(host(widget));
    widget.disposed.connect(() => extras.dispose());
    if (PageConfig.getOption('notebookPage') === 'terminals') {
      // Notebook 7 shows one terminal per browser tab and titles the page
      // once: the browser tab is the terminal's tab, so it follows the
      // program's title (OSC 0/2) as JupyterLab's tab label does.
      const follow = () => {
        document.title = widget.title.label;
      };
      widget.title.changed.connect(follow);
      follow();
    }
    // `ready` is on JupyterLab's Terminal class, not on the ITerminal interface.
    const ready =
      (terminal as { ready?: Promise<void> }).ready ?? Promise.resolve();
    void ready.then(() => {
      const term = widget.isDisposed ? null : xtermOf(terminal);
      if (!term) {
        return;
      }
      extras.attach(term);
      if (terminal.session instanceof WebPtyTerminalConnection) {
        terminal.session.ackAfter(term);
      }
    });
  }

  function host(widget: TerminalWidget): IExtrasHost {
    const terminal = widget.content;
    return {
      node: terminal.node,
      isShown: () => widget.isVisible,
      mark: kind => markTitle(widget.title, kind),
      leave: input => leaveTerminal(widget, input),
      focus: () => terminal.activate(),
      send: text => terminal.session.send({ type: 'stdin', content: [text] }),
      paste: text => terminal.paste(text),
      selection: () => terminal.getSelection(),
      sessionId: () => {
        const session = terminal.session;
        return session instanceof WebPtyTerminalConnection
          ? session.connection.sessionId
          : undefined; // A built-in terminal: no cwd of ours to upload into.
      }
    };
  }

  /**
   * Move focus from the terminal to its tab (keyboard users continue from
   * there). Activating the widget would not do: that focuses xterm.js again.
   * Without a tab (Notebook 7's terminal page) focus goes to the widget's own
   * node, around the terminal's: the page's shortcuts work there (Ctrl+F
   * opens the search bar over the terminal; Notebook 7 has no Edit menu),
   * while on the page's body none that needs a current widget would.
   */
  function leaveTerminal(widget: Widget, input: HTMLElement): void {
    input.blur();
    const tabs = document.querySelectorAll<HTMLElement>(
      '.lm-TabBar-tab.lm-mod-current'
    );
    for (const tab of Array.from(tabs)) {
      const label = tab.querySelector('.lm-TabBar-tabLabel')?.textContent;
      if (label === widget.title.label) {
        tab.tabIndex = 0;
        tab.focus();
        return;
      }
    }
    if (!widget.node.hasAttribute('tabindex')) {
      widget.node.tabIndex = -1; // Focusable by script, not in the Tab order.
    }
    widget.node.focus();
  }
}

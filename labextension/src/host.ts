/**
 * What every host (side panel, main-area tab, notebook output, ipywidget)
 * shares: the user's settings and theme, and a one-call way to show a
 * session in an element with the terminal extras.
 */
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Title, Widget } from '@lumino/widgets';

import { TerminalConnection } from './connection';
import { BELL_CLASS, IExtrasHost, markTitle, TerminalExtras } from './extras';
import { serverOptions } from './pageconfig';
import { TerminalView } from './view';

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
    return new DisposableDelegate(() => this._views.delete(view));
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

/** Where a terminal marks itself when the user does not see it: its tab. */
export interface IAttention {
  /** The title of the tab (or side bar tab) the terminal shows in. */
  readonly title: Title<Widget>;
  /** Whether that tab is shown. */
  isShown(): boolean;
}

/**
 * Show the session named in `options` inside `host`, following settings,
 * with the terminal extras (`extras.ts`). Bells and activity mark
 * `attention`'s title; without one (notebook outputs, the widget) a bell
 * shows on the view itself until the terminal gets the keyboard.
 */
export function showTerminal(
  host: HTMLElement,
  options: Omit<TerminalConnection.IOptions, 'socket'>,
  rows: number | null = null,
  attention: IAttention | null = null
): ITerminalHandle {
  const connection = new TerminalConnection({ ...serverOptions(), ...options });
  const view = new TerminalView(host, connection, {
    ...viewSettings.options,
    rows
  });
  const tracking = viewSettings.track(view);
  const extras = new TerminalExtras(
    Private.extrasHost(view, connection, attention)
  );
  void view.ready.then(() => {
    if (view.terminal) {
      extras.attach(view.terminal);
    }
  });
  const handle = new DisposableDelegate(() => {
    extras.dispose();
    tracking.dispose();
    view.dispose();
    connection.dispose();
  });
  return Object.assign(handle, { view, connection });
}

namespace Private {
  /** A TerminalView as the extras see it. */
  export function extrasHost(
    view: TerminalView,
    connection: TerminalConnection,
    attention: IAttention | null
  ): IExtrasHost {
    const node = view.node;
    const hasKeyboard = () =>
      document.hasFocus() && node.contains(document.activeElement);
    if (!attention) {
      // The bell on the view stays until the user comes back to it.
      node.addEventListener('focusin', () => node.classList.remove(BELL_CLASS));
    }
    return {
      node,
      isShown: () => (attention ? attention.isShown() : hasKeyboard()),
      mark: kind => {
        if (attention) {
          markTitle(attention.title, kind);
        } else if (kind === 'bell') {
          node.classList.add(BELL_CLASS); // Output alone is no news in a notebook.
        }
      },
      leave: input => input.blur(),
      focus: () => view.focus(),
      send: text => connection.write(text),
      paste: text => view.terminal?.paste(text),
      selection: () => view.terminal?.getSelection() ?? null,
      sessionId: () => connection.sessionId
    };
  }
}

/**
 * The "Terminals" side panel: the user's sessions, live, and the selected
 * one's terminal below the list.
 */
import {
  Dialog,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Time } from '@jupyterlab/coreutils';
import {
  closeIcon,
  editIcon,
  LabIcon,
  launchIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Debouncer } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { clearTitle } from './extras';
import { ITerminalHandle, showTerminal } from './host';
import { terminalIcon } from './icon';
import { COMMAND_FINISHED, ICommandEvent, ISessionInfo } from './protocol';
import { SessionsClient } from './sessions';
import { __, _n } from './i18n';

/** Lists sessions (refreshed on `terminal:changed`) and shows one. */
export class SessionsPanel extends Widget {
  constructor(options: SessionsPanel.IOptions) {
    super();
    this._client = options.client;
    this._openInMain = options.openInMain;
    this.id = 'jp-WebPty-panel';
    this.addClass('jp-WebPty-panel');
    this.title.icon = terminalIcon;
    this.title.caption = __('Terminals');
    this.node.append(Private.header(() => void this.newSession()));
    this._list = document.createElement('ul');
    this._list.className = 'jp-WebPty-list';
    this._area = document.createElement('div');
    this._area.className = 'jp-WebPty-area';
    this.node.append(this._list, this._area);
    this._client.changed.connect(() => void this._refreshSoon.invoke());
    this._client.command.connect((_, event) => this._onCommand(event));
  }

  /** The sessions last listed. */
  get sessions(): ISessionInfo[] {
    return this._sessions;
  }

  /** The name of the session shown in the panel, if any (its new name after a rename). */
  get selected(): string | null {
    const id = this._handle?.connection.sessionId;
    const listed = this._sessions.find(s => s.session_id === id);
    return listed?.name ?? this._handle?.connection.name ?? null;
  }

  /** List sessions again (only while visible; else on next show). */
  async refresh(): Promise<void> {
    if (!this.isVisible) {
      this._stale = true;
      return;
    }
    this._stale = false;
    try {
      this._sessions = await this._client.list();
    } catch (error) {
      this._list.replaceChildren(Private.note(`Cannot list: ${error}`));
      return;
    }
    this._render();
    const saved = Private.loadSelected();
    if (!this._handle && saved && this._sessions.some(s => s.name === saved)) {
      this.select(saved); // The one shown before the page was reloaded.
    }
  }

  /** Show the session `name` below the list (creating it if it is missing). */
  select(name: string): void {
    // A view whose shell ended (or was lost with the server) shows the
    // listed session of that name afresh instead of just taking focus.
    const live = this._handle?.connection.sessionId !== undefined;
    if (this._handle && live && this.selected === name) {
      this._handle.view.focus();
      return;
    }
    this._show({ name, create: true });
  }

  /** Create a session (the server names it) and show it. */
  async newSession(): Promise<void> {
    this._show({ create: true });
  }

  /** Ask for a new name and rename the session (the list refreshes on `changed`). */
  async renameSession(info: ISessionInfo): Promise<boolean> {
    const result = await InputDialog.getText({
      title: __('Rename terminal'),
      text: info.name,
      okLabel: __('Rename')
    });
    const name = result.value?.trim();
    if (!result.button.accept || !name || name === info.name) {
      return false;
    }
    try {
      await this._client.rename(info.session_id, name);
    } catch (error) {
      void showErrorMessage(__('Cannot rename terminal'), String(error));
      return false;
    }
    if (this._handle?.connection.sessionId === info.session_id) {
      Private.saveSelected(name);
    }
    return true;
  }

  /** Close a session, asking first when a program other than a shell runs. */
  async closeSession(info: ISessionInfo): Promise<boolean> {
    // The list may be old: what runs now decides whether to ask.
    const sessions = await this._client.list().catch(() => [info]);
    const fresh = sessions.find(s => s.session_id === info.session_id);
    if (!fresh) {
      return false; // Gone already.
    }
    info = fresh;
    if (info.command && !Private.isShell(info.command)) {
      const result = await showDialog({
        title: __('Close terminal?'),
        body: __(
          '"%1" is still running in terminal "%2".',
          info.command,
          info.name
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: __('Close') })
        ]
      });
      if (!result.button.accept) {
        return false;
      }
    }
    await this._client.close(info.session_id);
    return true;
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    clearTitle(this.title); // Bell and activity seen.
    if (this._stale || !this._sessions.length) {
      void this.refresh();
    }
    this._handle?.view.fit();
  }

  override dispose(): void {
    this._refreshSoon.dispose();
    this._handle?.dispose();
    this._handle = null;
    super.dispose();
  }

  private _show(options: { name?: string; create: boolean }): void {
    this._handle?.dispose();
    const handle = showTerminal(this._area, options, null, {
      title: this.title,
      isShown: () => this.isVisible
    });
    this._handle = handle;
    handle.connection.attached.connect((_, { name }) => {
      Private.saveSelected(name);
      this._render();
    });
    void handle.view.ready.then(() => handle.view.focus());
  }

  /** Live: a command started or ended; the next listing says the same. */
  private _onCommand({ session_id, event, command }: ICommandEvent): void {
    const info = this._sessions.find(s => s.session_id === session_id);
    if (!info) {
      return; // Not listed yet: the refresh that lists it has the state.
    }
    if (event === COMMAND_FINISHED) {
      info.running_command = null;
      info.last_exit_code = command.exit_code;
    } else {
      info.running_command = command.command ?? '';
    }
    this._render();
  }

  private _render(): void {
    if (!this._sessions.length) {
      this._list.replaceChildren(Private.note(__('No terminals yet.')));
      return;
    }
    // By id: a rename changes the name under the open view.
    const selected = this._handle?.connection.sessionId;
    this._list.replaceChildren(
      ...this._sessions.map(info =>
        Private.item(info, info.session_id === selected, {
          select: () => this.select(info.name),
          openInMain: () => this._openInMain(info.name),
          rename: () => void this.renameSession(info),
          close: () => void this.closeSession(info)
        })
      )
    );
  }

  private readonly _client: SessionsClient;
  private readonly _openInMain: (name: string) => void;
  private readonly _list: HTMLElement;
  private readonly _area: HTMLElement;
  private _sessions: ISessionInfo[] = [];
  private _handle: ITerminalHandle | null = null;
  private _stale = true;
  /** Changes come in bursts (create + attach): list once per burst. */
  private readonly _refreshSoon = new Debouncer(() => this.refresh(), 100);
}

/** Types for {@link SessionsPanel}. */
export namespace SessionsPanel {
  /** The panel's collaborators. */
  export interface IOptions {
    client: SessionsClient;
    /** Open a session in a main-area tab. */
    openInMain(name: string): void;
  }
}

namespace Private {
  const STORAGE_KEY = 'jupyter-webpty:selected';
  /** Foreground commands that mean "nothing running": closing loses nothing. */
  const SHELLS = new Set(
    'ash bash csh dash fish ksh mksh nu pwsh sh tcsh zsh'.split(' ')
  );

  /** Login shells show as `-bash`; some report a path. */
  export function isShell(command: string): boolean {
    return SHELLS.has(command.replace(/^-/, '').split('/').pop() ?? '');
  }

  export function loadSelected(): string | null {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch {
      return null; // Storage disabled.
    }
  }

  export function saveSelected(name: string): void {
    try {
      window.localStorage.setItem(STORAGE_KEY, name);
    } catch {
      // Storage disabled: the panel just starts empty after a reload.
    }
  }

  export function header(onNew: () => void): HTMLElement {
    const node = document.createElement('div');
    node.className = 'jp-WebPty-header';
    const title = document.createElement('h2');
    title.textContent = __('Terminals');
    const button = element('button', 'jp-WebPty-new jp-Button', '+ New');
    button.title = __('New terminal');
    button.addEventListener('click', onNew);
    node.append(title, button);
    return node;
  }

  export function note(text: string): HTMLElement {
    return element('li', 'jp-WebPty-note', text);
  }

  /** One row; text only (names and paths are user data, never HTML). */
  export function item(
    info: ISessionInfo,
    selected: boolean,
    actions: {
      select(): void;
      openInMain(): void;
      rename(): void;
      close(): void;
    }
  ): HTMLElement {
    const node = element('li', 'jp-WebPty-session');
    node.dataset.name = info.name;
    node.classList.toggle('jp-mod-selected', selected);
    node.title = __('Show terminal "%1" here', info.name);
    node.addEventListener('click', actions.select);
    const clients = _n('%1 viewer', '%1 viewers', info.clients);
    const activity = Time.formatHuman(new Date(info.last_activity));
    const text = element('div', 'jp-WebPty-sessionText');
    text.append(
      element('span', 'jp-WebPty-sessionName', info.name),
      element('span', 'jp-WebPty-sessionCommand', info.command ?? ''),
      // Marks keep a path's leading '/' in place under the CSS rtl trick.
      element('div', 'jp-WebPty-sessionCwd', `\u200e${info.cwd ?? ''}\u200e`),
      element('div', 'jp-WebPty-sessionMeta', `${activity} · ${clients}`),
      ...commandStatus(info)
    );
    const open = button(
      'jp-WebPty-openMain',
      launchIcon,
      __('Open in a tab'),
      () => actions.openInMain()
    );
    const rename = button('jp-WebPty-rename', editIcon, __('Rename'), () =>
      actions.rename()
    );
    const close = button(
      'jp-WebPty-close',
      closeIcon,
      'Close (ends the shell)',
      () => actions.close()
    );
    node.append(text, rename, open, close);
    return node;
  }

  /**
   * The running command line and the last exit code (shell integration):
   * nothing when the shell has no integration and nothing ran.
   */
  function commandStatus(info: ISessionInfo): HTMLElement[] {
    const running = info.running_command;
    const code = info.last_exit_code;
    if (running === null && code === null) {
      return [];
    }
    const node = element('div', 'jp-WebPty-sessionStatus');
    if (code !== null) {
      const exit = element(
        'span',
        `jp-WebPty-sessionExit ${code === 0 ? 'jp-mod-success' : 'jp-mod-failure'}`,
        `${code === 0 ? '\u2713' : '\u2717'} ${code}`
      );
      exit.title = __('The last command exited with %1', code);
      exit.dataset.exitCode = `${code}`;
      node.append(exit);
    }
    if (running !== null) {
      const line = element(
        'span',
        'jp-WebPty-sessionRunning',
        `\u25b6 ${running || __('(command)')}`
      );
      line.title = __('Running: %1', running);
      node.append(line);
    }
    return [node];
  }

  function button(
    className: string,
    icon: LabIcon,
    title: string,
    onClick: () => void
  ): HTMLElement {
    const node = element('button', `${className} jp-WebPty-action`);
    node.title = title;
    node.setAttribute('aria-label', title);
    icon.element({ container: node, tag: 'span' });
    node.addEventListener('click', event => {
      event.stopPropagation(); // Not a click on the row.
      onClick();
    });
    return node;
  }

  function element(tag: string, className: string, text = ''): HTMLElement {
    const node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }
}

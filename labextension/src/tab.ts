/**
 * A session in a main-area tab (a Lumino widget around a TerminalView).
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { clearTitle } from './extras';
import { ITerminalHandle, showTerminal } from './host';
import { terminalIcon } from './icon';
import { __ } from './i18n';

/** The content of a `MainAreaWidget` showing one session. */
export class TerminalTab extends Widget {
  /**
   * Show the session `name`, or a new one named by the server. With `create: false` only an
   * existing session is attached (a tab restored from the saved layout: its session may have
   * been closed since, and must not come back as a new shell). A `sessionId` (saved with the
   * layout) is a session the tab knew: only that one is attached, never another of that name.
   */
  constructor(
    name?: string,
    options: { create?: boolean; sessionId?: string } = {}
  ) {
    super();
    this.addClass('jp-WebPty-tab');
    this.title.label = name ?? __('Terminal');
    this.title.icon = terminalIcon;
    this.title.closable = true;
    this._handle = showTerminal(
      this.node,
      {
        name,
        sessionId: options.sessionId,
        create: options.create ?? true
      },
      null,
      { title: this.title, isShown: () => this.isVisible }
    );
    // A new session learns its name here (the server picks it).
    this._handle.connection.attached.connect((_, identity) => {
      this.title.label = identity.name;
      this.title.caption = `Persistent terminal "${identity.name}"`;
    });
  }

  /** The session's name (undefined until a new session is attached). */
  get name(): string | undefined {
    return this._handle.connection.name;
  }

  /** The session's id while attached (saved with the layout). */
  get sessionId(): string | undefined {
    return this._handle.connection.sessionId;
  }

  /** The live terminal. */
  get handle(): ITerminalHandle {
    return this._handle;
  }

  protected override onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    // xterm opens once visible, which may be after this request.
    const view = this._handle.view;
    void view.ready.then(() => this.isVisible && view.focus());
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    clearTitle(this.title); // Bell and activity seen.
    this._handle.view.fit();
  }

  override dispose(): void {
    this._handle.dispose();
    super.dispose();
  }

  private readonly _handle: ITerminalHandle;
}

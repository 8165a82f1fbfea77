/**
 * The banner over a terminal saying why it is not live: connecting,
 * reconnecting, the session ended, the session was lost with the server, or
 * an error.
 */
import { TerminalConnection } from './connection';
import { __ } from './i18n';
import { IDisposable } from './emitter';
import { ITerminalStatus } from './tokens';

/** How long a non-fatal `terminal:error` message stays up, ms. */
const MESSAGE_TIME = 5000;
/** Don't flash "Connecting…" for attaches quicker than this, ms. */
const SHOW_DELAY = 300;

/** A `div.jp-WebPty-status` that follows a connection's status. */
export class StatusBanner implements IDisposable {
  constructor(parent: HTMLElement, connection: TerminalConnection) {
    this._node = document.createElement('div');
    this._node.className = 'jp-WebPty-status';
    this._node.setAttribute('role', 'status');
    this._node.hidden = true;
    parent.appendChild(this._node);
    this._subscriptions = [
      connection.statusChanged.event(status => this._update(status)),
      connection.message.event(text => this._flash(text))
    ];
    this._update(connection.status);
  }

  /** Show `text` until the next status change. */
  show(text: string, state = 'error'): void {
    clearTimeout(this._timer);
    this._node.textContent = text;
    this._node.dataset.state = state;
    this._node.hidden = false;
  }

  /** Remove the banner. */
  dispose(): void {
    clearTimeout(this._timer);
    for (const subscription of this._subscriptions) {
      subscription.dispose();
    }
    this._node.remove();
  }

  private _update(status: ITerminalStatus): void {
    clearTimeout(this._timer);
    const text = Private.describe(status);
    if (text === null) {
      this._node.hidden = true;
      this._node.textContent = '';
      this._node.dataset.state = status.state;
    } else if (status.state === 'connecting' && !status.message) {
      this._node.hidden = true;
      this._timer = setTimeout(() => this.show(text, status.state), SHOW_DELAY);
    } else {
      this.show(text, status.state);
    }
  }

  private _flash(text: string): void {
    const { textContent, hidden } = this._node;
    const state = this._node.dataset.state ?? '';
    this.show(text, 'message');
    this._timer = setTimeout(() => {
      this._node.textContent = textContent;
      this._node.dataset.state = state;
      this._node.hidden = hidden;
    }, MESSAGE_TIME);
  }

  private readonly _node: HTMLElement;
  private readonly _subscriptions: IDisposable[];
  private _timer: ReturnType<typeof setTimeout> | undefined;
}

namespace Private {
  /** The banner text for a status; null hides the banner. */
  export function describe(status: ITerminalStatus): string | null {
    const detail = status.message ? ` (${status.message})` : '';
    switch (status.state) {
      case 'connected':
        return null;
      case 'connecting':
        return __('Connecting…%1', detail);
      case 'reconnecting':
        return __('Connection lost, reconnecting…%1', detail);
      case 'exited': {
        const code = status.exitCode;
        const how =
          code === null || code === undefined
            ? ''
            : code < 0
              ? __(' (killed by signal %1)', -code)
              : __(' (exit code %1)', code);
        return __('Session ended%1. Press Enter to start it again.', how);
      }
      case 'gone':
        return status.reason === 'shutdown'
          ? __(
              'This terminal ended when the server stopped: its shell and jobs are gone. Press Enter to start a new shell.'
            )
          : __(
              'This terminal ended: the server no longer has its shell (the server restarted, or closed it while this page was away); its jobs are gone. Press Enter to start a new shell.'
            );
      case 'error':
        return __(
          'Error: %1. Press Enter to retry.',
          status.message ?? 'unknown'
        );
    }
  }
}

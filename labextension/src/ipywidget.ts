/**
 * The classic ipywidgets widget `WebTerminal` (Python `jupyter_webpty.widget`):
 * syncs `session`, `height` (rows) and `cwd`, and shows the same terminal as
 * the mime renderer. Used when the widget sits in a container (VBox...);
 * alone in an output, the mime renderer takes over and needs no kernel.
 *
 * Classic rather than anywidget: the terminal code is already in this
 * labextension, so no ESM is synced per instance and nothing extra loads.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  DOMWidgetModel,
  DOMWidgetView,
  IJupyterWidgetRegistry
} from '@jupyter-widgets/base';
import { Message } from '@lumino/messaging';

import { ITerminalHandle, showTerminal } from './host';
import { knownSession, rememberSession } from './known';
import { DEFAULT_ROWS, MAX_SIZE, MIN_SIZE, WIDGET_MODULE } from './protocol';
import { VERSION } from './version';

/** `_model_module` / `_view_module` of the Python widget. */
export const MODULE_NAME = WIDGET_MODULE;
/** `_model_module_version` / `_view_module_version` of the Python widget. */
export const MODULE_VERSION = `^${VERSION}`;

/** The widget's state; the Python traits of the same names. */
export class WebTermModel extends DOMWidgetModel {
  override defaults(): Backbone.ObjectHash {
    return {
      ...super.defaults(),
      _model_name: 'WebTermModel',
      _view_name: 'WebTermView',
      _model_module: MODULE_NAME,
      _view_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_module_version: MODULE_VERSION,
      session: 'default',
      height: DEFAULT_ROWS,
      cwd: null
    };
  }
}

/** A terminal attached to the model's session by name. */
export class WebTermView extends DOMWidgetView {
  override render(): void {
    this.el.classList.add('jp-WebPty-widget');
    this._show();
    this.listenTo(this.model, 'change:session change:cwd', this._show);
    this.listenTo(this.model, 'change:height', () =>
      this._handle?.view.setOptions({ rows: this._rows() })
    );
  }

  override remove(): void {
    this._handle?.dispose();
    this._handle = null;
    super.remove();
  }

  override processLuminoMessage(msg: Message): void {
    super.processLuminoMessage(msg);
    if (msg.type === 'after-show' || msg.type === 'resize') {
      this._handle?.view.fit();
    }
  }

  private _rows(): number {
    const height = this.model.get('height');
    return Number.isInteger(height) && height >= MIN_SIZE && height <= MAX_SIZE
      ? height
      : DEFAULT_ROWS;
  }

  private _show(): void {
    this._handle?.dispose();
    const name = String(this.model.get('session') || 'default');
    const cwd = this.model.get('cwd') ?? null;
    // The model's id is this widget's identity: a view re-rendered after a
    // page reload knows the session it showed (see known.ts).
    const known = `widget:${this.model.model_id}:${name}`;
    const handle = showTerminal(
      this.el,
      { name, sessionId: knownSession(known), create: true, cwd },
      this._rows()
    );
    handle.connection.attached.connect((_, identity) =>
      rememberSession(known, identity.session_id)
    );
    this._handle = handle;
  }

  private _handle: ITerminalHandle | null = null;
}

/** Registers the widget with the ipywidgets manager, when one is installed. */
export const widgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-webpty:widget',
  description: 'The WebTerminal ipywidget.',
  autoStart: true,
  optional: [IJupyterWidgetRegistry],
  activate: (
    _app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry | null
  ) => {
    registry?.registerWidget({
      name: MODULE_NAME,
      version: VERSION,
      exports: { WebTermModel, WebTermView }
    });
  }
};

/**
 * A dialog the user pastes into, for a *Paste* menu item where the page may
 * not read the clipboard itself.
 *
 * `navigator.clipboard.readText` exists only in a secure context (HTTPS,
 * localhost): over plain HTTP by name or address the page cannot read the
 * clipboard at all, and elsewhere the user may have refused it. The
 * browser's own paste still works everywhere, because the user does it: the
 * dialog holds a focused textarea, and the user's Ctrl+V (Cmd+V) or
 * middle-click pastes into it. The first paste closes the dialog with the
 * pasted text (the caller then pastes it into the terminal the usual way:
 * bracketed when the program asked, with the multi-line check); text typed or
 * dropped into the box goes in with the Paste button.
 */
import { Dialog } from '@jupyterlab/apputils';
import { Platform } from '@lumino/domutils';
import { Widget } from '@lumino/widgets';

import { __ } from './i18n';

/** CSS class of the dialog's textarea. */
export const PASTE_INPUT_CLASS = 'jp-webpty-paste-input';

/** Ask the user to paste; the text, or null when they cancelled. */
export async function askForPaste(): Promise<string | null> {
  const body = new PasteBox();
  const dialog = new Dialog<string>({
    title: __('Paste into the terminal'),
    body,
    focusNodeSelector: `.${PASTE_INPUT_CLASS}`,
    buttons: [
      Dialog.cancelButton({ label: __('Cancel') }),
      Dialog.okButton({ label: __('Paste') })
    ]
  });
  body.onPaste = () => dialog.resolve(1);
  const result = await dialog.launch();
  const text = result.value ?? '';
  return result.button.accept && text ? text : null;
}

/** The dialog's body: a line of help and the textarea. */
class PasteBox extends Widget implements Dialog.IBodyWidget<string> {
  constructor() {
    super();
    this.addClass('jp-webpty-paste-box');
    const help = document.createElement('p');
    const keys = Platform.IS_MAC ? '⌘V' : 'Ctrl+V';
    help.textContent = __(
      'This page may not read the clipboard here. Press %1 in the box below (or middle-click to paste the selection). In the terminal itself, %2 pastes directly.',
      keys,
      Platform.IS_MAC ? '⌘V' : 'Ctrl+Shift+V'
    );
    this._area.className = PASTE_INPUT_CLASS;
    this._area.rows = 4;
    this._area.spellcheck = false;
    this._area.setAttribute('aria-label', __('Text to paste'));
    this._area.addEventListener('paste', this._pasted);
    this.node.append(help, this._area);
  }

  /** Called once the user pasted into the box. */
  onPaste: (() => void) | null = null;

  getValue(): string {
    // The clipboard's text exactly as pasted (a textarea would turn CR LF into LF).
    return this._text ?? this._area.value;
  }

  override dispose(): void {
    this._area.removeEventListener('paste', this._pasted);
    super.dispose();
  }

  private _pasted = (event: ClipboardEvent): void => {
    const text = event.clipboardData?.getData('text/plain') ?? '';
    if (!text) {
      return; // Nothing textual: let the browser do what it does.
    }
    event.preventDefault();
    this._text = text;
    this._area.value = text;
    this.onPaste?.();
  };

  private readonly _area = document.createElement('textarea');
  private _text: string | null = null;
}

/**
 * Copying text to the system clipboard wherever the page runs.
 *
 * The asynchronous clipboard API (`navigator.clipboard`) exists only in a
 * secure context (HTTPS, localhost): a server reached over plain HTTP by name
 * or address has none, and a browser may refuse it (no focus, a denied
 * permission, Firefox outside a user gesture). The older way still works
 * there, while the user's key press or click that asked for the copy is
 * recent: `document.execCommand('copy')` with a `copy` listener that puts our
 * text on the event's clipboard data (the selection it copies is a hidden
 * textarea's, so the user's own selection and focus are left as they were).
 */

/** Put `text` on the clipboard; false when the browser refused both ways. */
export async function copyText(text: string): Promise<boolean> {
  const clipboard = window.isSecureContext ? navigator.clipboard : undefined;
  if (clipboard?.writeText) {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Refused: the copy command below may still be allowed.
    }
  }
  return copyWithCommand(text);
}

/** `execCommand('copy')` of `text`, restoring focus; false if refused. */
export function copyWithCommand(text: string): boolean {
  const onCopy = (event: ClipboardEvent) => {
    event.clipboardData?.setData('text/plain', text);
    event.preventDefault();
  };
  // Something must be selected for the command to run: a hidden textarea.
  const area = document.createElement('textarea');
  area.value = text || ' ';
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '0';
  area.style.opacity = '0';
  const active = document.activeElement as HTMLElement | null;
  document.addEventListener('copy', onCopy, true);
  document.body.appendChild(area);
  let ok = false;
  try {
    area.select();
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  } finally {
    document.removeEventListener('copy', onCopy, true);
    area.remove();
    active?.focus();
  }
  return ok;
}

/** The clipboard's text, or null where the page may not read it (plain HTTP, refused). */
export async function readText(): Promise<string | null> {
  const clipboard = window.isSecureContext ? navigator.clipboard : undefined;
  if (!clipboard?.readText) {
    return null;
  }
  try {
    return await clipboard.readText();
  } catch {
    return null;
  }
}

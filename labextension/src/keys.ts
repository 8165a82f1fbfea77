/**
 * Key decisions of the terminal views, pure so that tests run them in Node.
 */

/**
 * Whether `event` is Ctrl+C meant as "copy": with a selection it copies
 * instead of reaching the terminal. Not on macOS (`isMac`: Lumino's
 * `Platform.IS_MAC`), as in JupyterLab's terminal: there Cmd+C copies by
 * itself (xterm.js leaves Cmd shortcuts to the browser) and Ctrl+C is always
 * the interrupt.
 */
export function isCopyKey(
  event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'shiftKey'>,
  isMac: boolean
): boolean {
  return !isMac && event.ctrlKey && !event.shiftKey && event.key === 'c';
}

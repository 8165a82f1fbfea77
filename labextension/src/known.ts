/**
 * Which session each notebook output showed, remembered in this browser.
 *
 * A notebook output names its session, and a name alone cannot tell "the
 * shell I showed is gone" from "no shell yet": after a server restart and a
 * page reload an output would silently start a fresh shell under the old
 * name. So every display carries a random `display` key (added by the Python
 * widget), and the session id it attached to is kept here under that key.
 * A re-rendered output (page reload, notebook reopened in this browser) then
 * knows its session and reports it gone instead of replacing it; a new
 * display (the cell run again) has a new key and opens by name as before.
 * Kept in `localStorage`, most recent last, at most {@link MAX_ENTRIES}.
 */

/** The `localStorage` item. */
export const STORAGE_KEY = 'jupyter-webpty:outputs';
/** Outputs remembered; the oldest are forgotten first. */
export const MAX_ENTRIES = 500;

/** The part of the Web Storage API used here. */
export type IStorageLike = Pick<Storage, 'getItem' | 'setItem'>;

/** The session id last shown under `key`, if remembered. */
export function knownSession(
  key: string,
  storage: IStorageLike | undefined = Private.storage()
): string | undefined {
  return Private.load(storage).find(([k]) => k === key)?.[1];
}

/** Remember that the output `key` shows the session `sessionId`. */
export function rememberSession(
  key: string,
  sessionId: string,
  storage: IStorageLike | undefined = Private.storage()
): void {
  const entries = Private.load(storage).filter(([k]) => k !== key);
  entries.push([key, sessionId]);
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(entries.slice(-MAX_ENTRIES)));
  } catch {
    // Storage full or disabled: the output just opens by name next time.
  }
}

namespace Private {
  export function storage(): IStorageLike | undefined {
    try {
      return globalThis.localStorage ?? undefined;
    } catch {
      return undefined; // Access denied (sandboxed frames).
    }
  }

  export function load(
    storage: IStorageLike | undefined
  ): Array<[string, string]> {
    try {
      const value = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '[]');
      return Array.isArray(value)
        ? value.filter(
            (entry): entry is [string, string] =>
              Array.isArray(entry) &&
              typeof entry[0] === 'string' &&
              typeof entry[1] === 'string'
          )
        : [];
    } catch {
      return []; // Unreadable: start over.
    }
  }
}

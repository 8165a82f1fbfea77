/**
 * Text the terminal extras (`extras.ts`) read or write: OSC 52 clipboard
 * bodies and file names for the shell. No DOM: unit-tested in Node.
 */

/**
 * The text of an OSC 52 write (`Pc;Pd`), or null for a query (`?`), a
 * malformed body or a body that is not valid UTF-8 base64. Reading the
 * clipboard is never offered: a program must not learn what the user copied.
 */
export function osc52Text(body: string): string | null {
  const semi = body.indexOf(';');
  if (semi < 0) {
    return null;
  }
  const data = body.slice(semi + 1);
  if (data === '?' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
    return null;
  }
  try {
    const binary = atob(data);
    const bytes = Uint8Array.from(binary, c => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** `path` quoted for a POSIX shell (single quotes; a `'` becomes `'\''`). */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path)
    ? path
    : "'" + path.replace(/'/g, "'\\''") + "'";
}

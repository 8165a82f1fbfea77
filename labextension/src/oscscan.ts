/**
 * A small scanner of terminal output for what the page acts on itself: the
 * bell (BEL outside any string sequence) and OSC 52 clipboard writes.
 *
 * xterm.js parses the same stream for the screen; this scanner only looks for
 * two things, so it stays cheap on the hot path: a chunk without BEL and
 * without `ESC ]` costs two `indexOf` calls. Chunks may split a sequence
 * anywhere; the state carries over. No DOM: unit-tested in Node.
 */

/** What a chunk contained. */
export interface IScanResult {
  /** How many bells rang. */
  bells: number;
  /** OSC 52 payloads (`Pc;Pd`, Pd still base64), in order. */
  clipboard: string[];
}

/** Scans output chunks for bells and OSC 52. */
export class OutputScanner {
  /**
   * @param maxOsc52 - the longest OSC 52 body kept (longer ones are dropped
   *   whole: a program cannot grow the page's memory through us).
   */
  constructor(readonly maxOsc52 = OutputScanner.DEFAULT_MAX_OSC52) {}

  /** Scan the next chunk of output. */
  scan(text: string): IScanResult {
    const result: IScanResult = { bells: 0, clipboard: [] };
    let i = 0;
    const n = text.length;
    while (i < n) {
      switch (this._state) {
        case State.Ground: {
          const bel = text.indexOf('\x07', i);
          const esc = text.indexOf('\x1b', i);
          if (bel < 0 && esc < 0) {
            return result;
          }
          if (esc < 0 || (bel >= 0 && bel < esc)) {
            result.bells++;
            i = bel + 1;
          } else {
            this._state = State.Escape;
            i = esc + 1;
          }
          break;
        }
        case State.Escape:
          // `ESC ]` starts an OSC; any other escape is xterm.js's business.
          this._state =
            text[i] === ']'
              ? State.Osc
              : text[i] === '\x1b'
                ? State.Escape
                : State.Ground;
          if (this._state === State.Osc) {
            this._body = '';
            this._overflow = false;
          }
          i++;
          break;
        case State.Osc: {
          // The body runs to BEL or to ST (`ESC \`).
          let end = i;
          while (end < n && text[end] !== '\x07' && text[end] !== '\x1b') {
            end++;
          }
          this._append(text.slice(i, end));
          if (end === n) {
            return result;
          }
          if (text[end] === '\x07') {
            this._finish(result);
            this._state = State.Ground;
          } else {
            this._state = State.OscEscape;
          }
          i = end + 1;
          break;
        }
        case State.OscEscape:
          // ST ends the OSC; another escape aborts it (and is scanned again).
          if (text[i] === '\\') {
            this._finish(result);
            i++;
          }
          this._state = State.Ground;
          break;
      }
    }
    return result;
  }

  private _append(part: string): void {
    if (this._overflow) {
      return;
    }
    // Only OSC 52 bodies are kept; others are skipped after their number.
    if (this._body.length + part.length > this.maxOsc52 + 3) {
      this._overflow = true;
      this._body = '';
      return;
    }
    this._body += part;
    if (this._body.length >= 3 && !this._body.startsWith('52;')) {
      this._overflow = true;
      this._body = '';
    }
  }

  private _finish(result: IScanResult): void {
    if (!this._overflow && this._body.startsWith('52;')) {
      result.clipboard.push(this._body.slice(3));
    }
    this._body = '';
    this._overflow = false;
  }

  private _state = State.Ground;
  private _body = '';
  private _overflow = false;
}

export namespace OutputScanner {
  /** 1 MiB of base64: about 768 KiB of text, as xterm.js's own clipboard addon allows. */
  export const DEFAULT_MAX_OSC52 = 1 << 20;
}

const enum State {
  Ground,
  Escape,
  Osc,
  OscEscape
}

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

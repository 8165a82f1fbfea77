/**
 * The page's own look at output: bells and OSC 52, across any chunking.
 */
import { describe, expect, it } from 'vitest';

import { OutputScanner, osc52Text, shellQuote } from '../oscscan';

/** Scan `text` cut into pieces of `size` characters; merge the results. */
function scanInPieces(text: string, size: number, max?: number) {
  const scanner = new OutputScanner(max);
  let bells = 0;
  const clipboard: string[] = [];
  for (let i = 0; i < text.length; i += size) {
    const r = scanner.scan(text.slice(i, i + size));
    bells += r.bells;
    clipboard.push(...r.clipboard);
  }
  return { bells, clipboard };
}

const b64 = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s)));

describe('OutputScanner', () => {
  const stream =
    'a\x07b' + // a bell
    '\x1b]0;title\x07' + // a title: its BEL is no bell
    '\x1b[31mred\x1b[0m' +
    `\x1b]52;c;${b64('héllo')}\x07` +
    `\x1b]52;c;${b64('two')}\x1b\\` + // ST-terminated
    '\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\' + // hyperlinks: no bell, no clipboard
    '\x07';

  it('finds bells and clipboard writes whatever the chunking', () => {
    for (const size of [1, 2, 3, 5, 7, 1000]) {
      const r = scanInPieces(stream, size);
      expect(r.bells, `size ${size}`).toBe(2);
      expect(r.clipboard.map(osc52Text), `size ${size}`).toEqual([
        'héllo',
        'two'
      ]);
    }
  });

  it('drops an OSC 52 body over the cap, whole, and keeps scanning', () => {
    const big = `\x1b]52;c;${'A'.repeat(200)}\x07`;
    const r = scanInPieces(big + '\x07' + `\x1b]52;c;${b64('ok')}\x07`, 9, 100);
    expect(r.bells).toBe(1);
    expect(r.clipboard.map(osc52Text)).toEqual(['ok']);
  });

  it('aborts an OSC at another escape', () => {
    const r = scanInPieces('\x1b]52;c;QQ\x1b[0m\x07', 4);
    expect(r.clipboard).toEqual([]);
    expect(r.bells).toBe(1);
  });
});

describe('osc52Text', () => {
  it('refuses queries and malformed bodies', () => {
    expect(osc52Text('c;?')).toBeNull();
    expect(osc52Text('c;not base64!')).toBeNull();
    expect(osc52Text('nosemicolon')).toBeNull();
    expect(osc52Text('c;' + btoa('\xff\xfe'))).toBeNull(); // not UTF-8
    expect(osc52Text('c;' + b64('x y'))).toBe('x y');
  });
});

describe('shellQuote', () => {
  it('quotes what a shell would split or expand', () => {
    expect(shellQuote('data/a.csv')).toBe('data/a.csv');
    expect(shellQuote('my file.txt')).toBe("'my file.txt'");
    expect(shellQuote("it's $HOME")).toBe("'it'\\''s $HOME'");
  });
});

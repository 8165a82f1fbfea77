/**
 * OSC 52 bodies and shell-quoted file names.
 */
import { describe, expect, it } from 'vitest';

import { osc52Text, shellQuote } from '../termtext';

const b64 = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s)));

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

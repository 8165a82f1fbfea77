/**
 * The WebGL budget: least recently used terminals give their context back.
 */
import { describe, expect, it } from 'vitest';

import { IWebglHolder, WebglPool } from '../webgl';

function holder(dropped: string[], name: string): IWebglHolder {
  return { dropWebgl: () => dropped.push(name) };
}

describe('WebglPool', () => {
  it('refuses beyond the limit unless asked to evict the oldest', () => {
    const dropped: string[] = [];
    const pool = new WebglPool(2);
    const [a, b, c] = ['a', 'b', 'c'].map(n => holder(dropped, n));
    expect(pool.acquire(a, false)).toBe(true);
    expect(pool.acquire(b, false)).toBe(true);
    expect(pool.acquire(c, false)).toBe(false);
    pool.acquire(a, true); // a used again: b is now the oldest
    expect(pool.acquire(c, true)).toBe(true);
    expect(dropped).toEqual(['b']);
    expect([pool.has(a), pool.has(b), pool.has(c)]).toEqual([
      true,
      false,
      true
    ]);
    pool.release(a);
    expect(pool.acquire(b, false)).toBe(true);
  });
});

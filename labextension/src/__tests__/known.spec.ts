/**
 * The per-browser memory of which session each output showed.
 */
import { describe, expect, it } from 'vitest';

import {
  IStorageLike,
  knownSession,
  MAX_ENTRIES,
  rememberSession,
  STORAGE_KEY
} from '../known';

/** localStorage's two methods over a Map (Node has no localStorage). */
function memoryStorage(): IStorageLike & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: key => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value)
  };
}

describe('known sessions', () => {
  it('remembers the last id per output and forgets the oldest outputs', () => {
    const storage = memoryStorage();
    expect(knownSession('output:a', storage)).toBeUndefined();
    rememberSession('output:a', 'id-1', storage);
    rememberSession('output:a', 'id-2', storage); // Enter started a new shell
    expect(knownSession('output:a', storage)).toBe('id-2');
    for (let i = 0; i < MAX_ENTRIES; i++) {
      rememberSession(`output:${i}`, `id-${i}`, storage);
    }
    expect(knownSession('output:a', storage)).toBeUndefined();
    expect(knownSession(`output:${MAX_ENTRIES - 1}`, storage)).toBe(
      `id-${MAX_ENTRIES - 1}`
    );
    expect(JSON.parse(storage.items.get(STORAGE_KEY)!)).toHaveLength(
      MAX_ENTRIES
    );
  });

  it('survives unreadable, full or missing storage', () => {
    const storage = memoryStorage();
    storage.items.set(STORAGE_KEY, '{not json');
    expect(knownSession('output:a', storage)).toBeUndefined();
    storage.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    expect(() => rememberSession('output:a', 'id-1', storage)).not.toThrow();
    expect(knownSession('output:a', undefined)).toBeUndefined();
    expect(() => rememberSession('output:a', 'id-1', undefined)).not.toThrow();
  });
});

/**
 * Ctrl+C copies a selection except on macOS (Cmd+C there).
 */
import { describe, expect, it } from 'vitest';

import { isCopyKey } from '../keys';

const key = (init: { key: string; ctrlKey?: boolean; shiftKey?: boolean }) => ({
  ctrlKey: false,
  shiftKey: false,
  ...init
});

describe('isCopyKey', () => {
  it('is Ctrl+C elsewhere', () => {
    expect(isCopyKey(key({ key: 'c', ctrlKey: true }), false)).toBe(true);
    expect(isCopyKey(key({ key: 'c' }), false)).toBe(false);
    expect(
      isCopyKey(key({ key: 'c', ctrlKey: true, shiftKey: true }), false)
    ).toBe(false);
  });

  it('is never Ctrl+C on macOS, where Ctrl+C always interrupts', () => {
    expect(isCopyKey(key({ key: 'c', ctrlKey: true }), true)).toBe(false);
  });
});

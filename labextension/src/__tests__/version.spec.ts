/** The version in code (ipywidgets module version) is package.json's. */
import { readFileSync } from 'fs';
import { describe, expect, it } from 'vitest';

import { VERSION } from '../version';

describe('VERSION', () => {
  it('equals package.json', () => {
    const url = new URL('../../package.json', import.meta.url);
    expect(VERSION).toBe(JSON.parse(readFileSync(url, 'utf8')).version);
  });
});

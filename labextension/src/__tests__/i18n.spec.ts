/**
 * The UI strings go through JupyterLab's `ITranslator` (issue 12).
 *
 * Two checks: `__` really uses the translator it is given (a fake bundle
 * marks every string), and no source file hands a user-visible sink (a
 * notification, a command's label or caption, a dialog's title or button, an
 * element's title, text or aria-label) a string literal instead of `__(...)`.
 * The scan reads the sources as text: a new untranslated string in one of
 * those places fails it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { afterEach, describe, expect, it } from 'vitest';

import { __, _n, setTranslator } from '../i18n';

const SRC = join(__dirname, '..');

/** A translator that marks what it translates and records its domain. */
function markingTranslator(domains: string[]): ITranslator {
  const bundle = {
    __: (msg: string, ...args: string[]) =>
      '«' +
      args.reduce((text, arg, i) => text.replace(`%${i + 1}`, arg), msg) +
      '»'
  } as unknown as TranslationBundle;
  return {
    languageCode: 'xx',
    load: (domain: string) => {
      domains.push(domain);
      return bundle;
    }
  } as ITranslator;
}

/** Places where a literal (quote or backtick) reaches the user untranslated. */
const SINKS: RegExp[] = [
  /Notification\.(?:warning|error|success|info|emit)\(\s*[`'"]/g,
  /\b(?:label|caption|title):\s*(?:\([^)]*\)\s*=>|\w+\s*=>)?\s*[`'"]/g,
  /\.(?:title|textContent|placeholder)\s*=\s*[`'"][^`'"]/g,
  /setAttribute\(\s*'(?:aria-label|title)',\s*[`'"]/g,
  /Dialog\.(?:okButton|cancelButton)\(\{\s*label:\s*[`'"]/g
];

function sources(): string[] {
  return readdirSync(SRC)
    .filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map(f => join(SRC, f));
}

describe('i18n', () => {
  afterEach(() => setTranslator(null));

  it('translates through the ITranslator it was given, domain jupyter_webpty', () => {
    expect(__('Paste %1 lines?', 3)).toBe('Paste 3 lines?');
    const domains: string[] = [];
    setTranslator(markingTranslator(domains));
    expect(domains).toEqual(['jupyter_webpty']);
    expect(__('Paste %1 lines?', 3)).toBe('«Paste 3 lines?»');
    setTranslator(null);
    expect(__('New')).toBe('New');
  });

  it('finds no user-visible string literal outside __()', () => {
    const found: string[] = [];
    for (const file of sources()) {
      const text = readFileSync(file, 'utf8');
      for (const sink of SINKS) {
        for (const match of text.matchAll(sink)) {
          const line = text.slice(0, match.index).split('\n').length;
          found.push(`${file.slice(SRC.length + 1)}:${line}: ${match[0]}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('the scan itself catches each kind of sink', () => {
    const bad = [
      "Notification.error('Upload failed')",
      'label: args => `Show ${name}`',
      "caption: 'Copy'",
      "node.title = 'Show it'",
      "node.setAttribute('aria-label', 'New')",
      "Dialog.okButton({ label: 'Paste' })"
    ];
    for (const line of bad) {
      expect(
        SINKS.some(sink => line.match(sink) !== null),
        line
      ).toBe(true);
    }
    const good = [
      "Notification.error(__('Upload failed'))",
      "label: args => __('Show %1', name)",
      "node.textContent = ''"
    ];
    for (const line of good) {
      expect(
        SINKS.some(sink => line.match(sink) !== null),
        line
      ).toBe(false);
    }
  });
});

describe('_n', () => {
  afterEach(() => setTranslator(null));

  it('picks the plural form by n and fills in n', () => {
    expect(_n('%1 viewer', '%1 viewers', 1)).toBe('1 viewer');
    expect(_n('%1 viewer', '%1 viewers', 2)).toBe('2 viewers');
  });
});

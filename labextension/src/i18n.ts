/**
 * The UI strings' translations: JupyterLab's `ITranslator`, domain
 * `jupyter_webpty`. Plugins call {@link setTranslator} when activated (the
 * translator is optional: Notebook 7 and JupyterLab both provide it); until
 * then, and without one, strings are shown as written.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

let bundle: TranslationBundle = nullTranslator.load('jupyter_webpty');

/** Use `translator` for every string from now on. */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load('jupyter_webpty');
}

/** `singular` or `plural` (by `n`) translated, with `%1` replaced by `n`. */
export function _n(singular: string, plural: string, n: number): string {
  return bundle._n(singular, plural, n, n);
}

/** `msg` translated, with `%1`, `%2`, ... replaced by `args`. */
export function __(msg: string, ...args: unknown[]): string {
  return bundle.__(msg, ...(args as string[]));
}

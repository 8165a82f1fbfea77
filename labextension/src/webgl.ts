/**
 * WebGL rendering for terminals, within the page's budget of WebGL contexts.
 */
import type { WebglAddon } from '@xterm/addon-webgl';
import type { Terminal } from '@xterm/xterm';

import type { IXterm } from './xterm';

/** Something holding a WebGL context that it can give back on request. */
export interface IWebglHolder {
  /** Dispose the WebGL renderer (the terminal falls back to the DOM one). */
  dropWebgl(): void;
}

/**
 * A least-recently-used cap on live WebGL contexts. Browsers allow about 16
 * per page and drop the oldest beyond that (JupyterLab itself may use some),
 * so only the few terminals used last get one; the others render with the DOM.
 */
export class WebglPool {
  constructor(readonly limit: number) {}

  /** Whether `holder` has a slot. */
  has(holder: IWebglHolder): boolean {
    return this._holders.includes(holder);
  }

  /**
   * Claim a slot for `holder` (mark it most recent if it has one). When the
   * pool is full, `evict` takes the least recently used slot; else it fails.
   */
  acquire(holder: IWebglHolder, evict: boolean): boolean {
    const index = this._holders.indexOf(holder);
    if (index >= 0) {
      this._holders.splice(index, 1);
    } else if (this._holders.length >= this.limit) {
      if (!evict) {
        return false;
      }
      this._holders.shift()!.dropWebgl();
    }
    this._holders.push(holder);
    return true;
  }

  /** Give back the slot of `holder`, if any. */
  release(holder: IWebglHolder): void {
    this._holders = this._holders.filter(h => h !== holder);
  }

  private _holders: IWebglHolder[] = [];
}

/** The page's WebGL budget for terminals. */
export const webglPool = new WebglPool(4);

/**
 * Switches one terminal between the WebGL and the DOM renderer: WebGL when
 * allowed and a context is free (or, when focused, taken from the least
 * recently used terminal), DOM after a context loss or when WebGL is missing.
 */
export class WebglRenderer implements IWebglHolder {
  constructor(
    private readonly _term: Terminal,
    private readonly _xterm: IXterm
  ) {}

  /** Whether WebGL renders this terminal now. */
  get isActive(): boolean {
    return this._addon !== null;
  }

  /** Use WebGL if possible; `focused` may evict another terminal's context. */
  use(focused: boolean, warn = false): void {
    if (this._addon) {
      webglPool.acquire(this, true); // Now the most recently used.
      return;
    }
    if (Private.broken || !webglPool.acquire(this, focused)) {
      return;
    }
    try {
      const addon = new this._xterm.WebglAddon();
      addon.onContextLoss(() => this.dropWebgl());
      this._term.loadAddon(addon);
      this._addon = addon;
    } catch (error) {
      // No WebGL2 here: stay on the DOM renderer, and stop trying page-wide.
      Private.broken = true;
      webglPool.release(this);
      if (warn) {
        console.warn('jupyter-webpty: WebGL renderer unavailable', error);
      }
    }
  }

  /** Dispose the WebGL renderer: the DOM one takes over. */
  dropWebgl(): void {
    webglPool.release(this);
    const addon = this._addon;
    this._addon = null;
    addon?.dispose();
  }

  private _addon: WebglAddon | null = null;
}

namespace Private {
  /** Set after WebGL failed once: no point trying in every terminal. */
  export let broken = false;
}

/**
 * xterm.js loading (one shared chunk) and colour themes.
 */
import type { FitAddon } from '@xterm/addon-fit';
import type { SearchAddon } from '@xterm/addon-search';
import type { Unicode11Addon } from '@xterm/addon-unicode11';
import type { WebLinksAddon } from '@xterm/addon-web-links';
import type { WebglAddon } from '@xterm/addon-webgl';
import type { ITheme, Terminal } from '@xterm/xterm';

/** The xterm.js classes, loaded on first use. */
export interface IXterm {
  Terminal: typeof Terminal;
  FitAddon: typeof FitAddon;
  SearchAddon: typeof SearchAddon;
  Unicode11Addon: typeof Unicode11Addon;
  WebLinksAddon: typeof WebLinksAddon;
  WebglAddon: typeof WebglAddon;
}

/**
 * Load xterm.js and its addons in a separate chunk, once per page; a failed
 * load (a network blip) is retried by the next caller.
 */
export function loadXterm(): Promise<IXterm> {
  if (!Private.loading) {
    Private.loading = Promise.all([
      import('@xterm/xterm'),
      import('@xterm/addon-fit'),
      import('@xterm/addon-search'),
      import('@xterm/addon-unicode11'),
      import('@xterm/addon-web-links'),
      import('@xterm/addon-webgl')
    ]).then(([xterm, fit, search, unicode11, links, webgl]) => ({
      Terminal: xterm.Terminal,
      FitAddon: fit.FitAddon,
      SearchAddon: search.SearchAddon,
      Unicode11Addon: unicode11.Unicode11Addon,
      WebLinksAddon: links.WebLinksAddon,
      WebglAddon: webgl.WebglAddon
    }));
    Private.loading.catch(() => {
      Private.loading = null;
    });
  }
  return Private.loading;
}

/** Light or dark, following the host application's theme. */
export type ThemeName = 'light' | 'dark';

/** xterm colours for a theme; backgrounds match JupyterLab's layout colour 0. */
export function xtermTheme(name: ThemeName): ITheme {
  return name === 'light' ? Private.LIGHT : Private.DARK;
}

namespace Private {
  export let loading: Promise<IXterm> | null = null;

  export const DARK: ITheme = {
    foreground: '#e0e0e0',
    background: '#111111',
    cursor: '#ffffff',
    cursorAccent: '#000000',
    selectionBackground: 'rgba(255, 255, 255, 0.3)',
    selectionInactiveBackground: 'rgba(255, 255, 255, 0.15)'
  };

  // xterm's default ANSI colours are made for dark backgrounds: yellow and
  // white vanish on white, so light uses darker ones (VS Code's light palette).
  export const LIGHT: ITheme = {
    foreground: '#000000',
    background: '#ffffff',
    cursor: '#616161',
    cursorAccent: '#f5f5f5',
    selectionBackground: 'rgba(97, 97, 97, 0.3)',
    selectionInactiveBackground: 'rgba(189, 189, 189, 0.3)',
    black: '#000000',
    red: '#cd3131',
    green: '#107c10',
    yellow: '#949800',
    blue: '#0451a5',
    magenta: '#bc05bc',
    cyan: '#0598bc',
    white: '#555555',
    brightBlack: '#666666',
    brightRed: '#cd3131',
    brightGreen: '#14ce14',
    brightYellow: '#b5ba00',
    brightBlue: '#0451a5',
    brightMagenta: '#bc05bc',
    brightCyan: '#0598bc',
    brightWhite: '#a5a5a5'
  };
}

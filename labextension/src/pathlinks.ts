/**
 * Printed file paths that exist under the server root, underlined on hover
 * and opened in Jupyter on click (directories in the file browser). Relative
 * paths resolve against the shell's live cwd.
 */
import { PathExt } from '@jupyterlab/coreutils';
import type { ILink, ILinkProvider, Terminal } from '@xterm/xterm';

import { extrasContext } from './extrassettings';
import { pageRoot } from './pageconfig';
import { relativeToRoot } from './paths';
import { cwdOf } from './sessioncwd';

/** Candidate paths in a line: `a/b.txt`, `./x`, `../y/z`, `name.ext`, with `:line` dropped. */
const PATH =
  /(?:\.{1,2}\/|\/)?(?:[\w@.+-]+\/)*[\w@+-][\w@.+-]*(?::\d+(?::\d+)?)?/g;

/** xterm.js asks it for the links of a line as the mouse moves there. */
export class PathLinkProvider implements ILinkProvider {
  constructor(
    private readonly _term: Terminal,
    private readonly _sessionId: () => string | undefined
  ) {}

  provideLinks(
    y: number,
    callback: (links: ILink[] | undefined) => void
  ): void {
    if (!extrasContext.settings.pathLinks || !extrasContext.services) {
      callback(undefined);
      return;
    }
    const line =
      this._term.buffer.active.getLine(y - 1)?.translateToString(true) ?? '';
    void this._links(line, y).then(callback, () => callback(undefined));
  }

  private async _links(line: string, y: number): Promise<ILink[] | undefined> {
    const candidates: { text: string; path: string; index: number }[] = [];
    for (const match of line.matchAll(PATH)) {
      const text = match[0];
      const path = text.replace(/:\d+(?::\d+)?$/, '');
      // A bare word is not a path: it needs a slash or an extension.
      if (!path.includes('/') && !/\.\w{1,10}$/.test(path)) {
        continue;
      }
      if (/^\.+$/.test(path) || /^\w+:\/\//.test(line.slice(match.index))) {
        continue;
      }
      candidates.push({ text, path, index: match.index ?? 0 });
    }
    if (!candidates.length) {
      return undefined;
    }
    const cwd = await cwdOf(this._sessionId());
    const root = pageRoot();
    const links: ILink[] = [];
    for (const { text, path, index } of candidates.slice(0, 20)) {
      const resolved = resolvePath(path, cwd, root);
      const kind = resolved === null ? null : await Private.existing(resolved);
      if (resolved === null || kind === null) {
        continue;
      }
      links.push({
        text,
        range: {
          start: { x: index + 1, y },
          end: { x: index + text.length, y }
        },
        activate: () => {
          const commands = extrasContext.services?.commands;
          if (kind === 'directory') {
            void commands?.execute('filebrowser:go-to-path', {
              path: '/' + resolved
            });
          } else {
            void commands?.execute('docmanager:open', { path: resolved });
          }
        }
      });
    }
    return links.length ? links : undefined;
  }
}

/** `path` as printed, as a contents-API path, or null when outside the root. */
export function resolvePath(
  path: string,
  cwd: string | null,
  root: string
): string | null {
  if (path.startsWith('/')) {
    return root ? relativeToRoot(path, root) : null;
  }
  if (cwd === null) {
    return null;
  }
  const joined = PathExt.normalize(PathExt.join(cwd, path));
  return joined.startsWith('..') ? null : joined;
}

namespace Private {
  const cache = new Map<string, { at: number; kind: string | null }>();

  /** 'file', 'directory', 'notebook' or null, asked of the contents API (cached 5 s). */
  export async function existing(path: string): Promise<string | null> {
    const hit = cache.get(path);
    if (hit && performance.now() - hit.at < 5000) {
      return hit.kind;
    }
    let kind: string | null = null;
    try {
      const contents = extrasContext.services?.contents;
      kind = contents
        ? (await contents.get(path, { content: false })).type
        : null;
    } catch {
      kind = null;
    }
    if (cache.size > 500) {
      cache.clear();
    }
    cache.set(path, { at: performance.now(), kind });
    return kind;
  }
}

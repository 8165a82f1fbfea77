/**
 * A shell's absolute cwd as a file browser path under the server root.
 */
import { describe, expect, it } from 'vitest';

import { relativeToRoot, serverRootPath } from '../paths';

describe('relativeToRoot', () => {
  it('strips the root', () => {
    expect(relativeToRoot('/srv/root/a/b', '/srv/root')).toBe('a/b');
    expect(relativeToRoot('/srv/root/a/', '/srv/root/')).toBe('a');
  });

  it('gives the empty path for the root itself', () => {
    expect(relativeToRoot('/srv/root', '/srv/root')).toBe('');
    expect(relativeToRoot('/srv/root/', '/srv/root')).toBe('');
  });

  it('refuses paths outside the root, prefixes included', () => {
    expect(relativeToRoot('/srv/rootless/a', '/srv/root')).toBeNull();
    expect(relativeToRoot('/tmp', '/srv/root')).toBeNull();
  });

  it('takes every absolute path under a root of /', () => {
    expect(relativeToRoot('/home/me', '/')).toBe('home/me');
    expect(relativeToRoot('/', '/')).toBe('');
  });
});

describe('serverRootPath', () => {
  it("prefers JupyterLab's serverRoot, else decodes Notebook 7's rootUri", () => {
    expect(serverRootPath('/srv/root', 'file:///other')).toBe('/srv/root');
    expect(serverRootPath('', 'file:///home/me/my%20work')).toBe(
      '/home/me/my work'
    );
    expect(serverRootPath('', '')).toBeNull();
    expect(serverRootPath('', 'http://x/y')).toBeNull();
  });
});

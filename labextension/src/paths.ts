/**
 * Server paths as the file browser names them (no DOM: unit-tested in Node).
 */

/**
 * The path of `cwd` (absolute, as the server reports it) relative to the
 * server root `root`, in the contents API's form (`a/b`, `''` for the root);
 * null when it lies outside the root (the file browser cannot show it).
 */
export function relativeToRoot(cwd: string, root: string): string | null {
  const trim = (path: string) => path.replace(/\/+$/, '');
  const base = trim(root);
  const path = trim(cwd);
  if (path === base) {
    return '';
  }
  // A root of `/` trims to '': every absolute path is under it.
  return path.startsWith(base + '/') ? path.slice(base.length + 1) : null;
}

/**
 * The server root as an absolute path: JupyterLab's page config has
 * `serverRoot`; Notebook 7's has only `rootUri` (`file:///...`, for language
 * servers), which names the same directory. Null when neither is there.
 */
export function serverRootPath(
  serverRoot: string,
  rootUri: string
): string | null {
  if (serverRoot) {
    return serverRoot;
  }
  if (rootUri.startsWith('file://')) {
    try {
      return decodeURIComponent(new URL(rootUri).pathname);
    } catch {
      return null;
    }
  }
  return null;
}

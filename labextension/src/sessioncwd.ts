/**
 * A session's current directory as the file browser names it, asked of the
 * server's session list (which reads `/proc/<pid>/cwd`). Cached briefly:
 * hovering over printed paths asks often.
 */
import { pageRoot, serverOptions } from './pageconfig';
import { relativeToRoot } from './paths';
import { SessionsClient } from './sessions';

/**
 * The shell's cwd as a contents-API path (`''` for the root), or null when
 * unknown, outside the server root, or not one of our sessions.
 */
export async function cwdOf(
  sessionId: string | undefined,
  maxAgeMs = 2000
): Promise<string | null> {
  if (sessionId === undefined) {
    return null;
  }
  const hit = Private.cache.get(sessionId);
  if (hit && performance.now() - hit.at < maxAgeMs) {
    return hit.cwd;
  }
  let cwd: string | null = null;
  try {
    Private.client ??= new SessionsClient(serverOptions());
    const info = (await Private.client.list()).find(
      s => s.session_id === sessionId
    );
    const root = pageRoot();
    cwd = info?.cwd && root ? relativeToRoot(info.cwd, root) : null;
  } catch {
    cwd = null;
  }
  if (Private.cache.size > 100) {
    Private.cache.clear();
  }
  Private.cache.set(sessionId, { at: performance.now(), cwd });
  return cwd;
}

namespace Private {
  export let client: SessionsClient | null = null;
  export const cache = new Map<string, { at: number; cwd: string | null }>();
}

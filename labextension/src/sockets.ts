/**
 * One Socket.IO connection per server, shared by every terminal of the page.
 *
 * Sessions are multiplexed by `session_id` in each payload, so a page with a
 * side panel, two tabs and three notebook outputs still opens one websocket.
 */
import { io } from 'socket.io-client';

import { SOCKETIO_PATH } from './protocol';

/** The part of socket.io-client's `Socket` we use: the seam for unit tests. */
export interface ISocketLike {
  readonly connected: boolean;
  /** False once the client gave up reconnecting (or was told to stop). */
  readonly active: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
  /** Socket.IO 4: the next `emit` gets `(error, reply)` and an error on timeout. */
  timeout(ms: number): {
    emit(
      event: string,
      data: unknown,
      callback: (error: unknown, reply: any) => void
    ): unknown;
  };
  disconnect(): unknown;
}

/** A reference to a shared socket; release it when done. */
export interface ISocketLease {
  readonly socket: ISocketLike;
  /** Reserve a session (`name:x`, `id:y`) on this socket for this lease. */
  claim(claim: string): void;
  release(): void;
}

/** Where the server is: what `PageConfig` gives a Jupyter page. */
export interface IServerOptions {
  /** Absolute base URL of the Jupyter server, ending with `/`. */
  baseUrl: string;
  /** Jupyter token; empty when the login cookie authenticates. */
  token?: string;
  /**
   * Put the token in the websocket URL: `true`/`false` force it, undefined
   * decides as {@link isTokenNeeded} does. `PageConfig`'s `appendToken`.
   */
  appendToken?: boolean;
}

/** How long a request waits for its acknowledgement, ms. */
export const REQUEST_TIMEOUT = 10000;

/** Emit `event` and resolve with its acknowledgement (rejects on timeout). */
export function request<T>(
  socket: ISocketLike,
  event: string,
  data: unknown,
  timeout = REQUEST_TIMEOUT
): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.timeout(timeout).emit(event, data, (error, reply) => {
      if (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } else {
        resolve(reply as T);
      }
    });
  });
}

/**
 * Whether a websocket to `baseUrl` needs the token in its URL.
 *
 * A URL ends up in reverse-proxy and ingress logs (under JupyterHub the token
 * is the user's OAuth token), and a browser cannot set headers on a
 * websocket, so the URL is the token's only way in. It is not needed when the
 * page's own origin serves the API: the login cookie, which the server set
 * when the page loaded, authenticates the websocket (and the server's origin
 * check passes). This is JupyterLab's `ServerConnection.makeSettings` rule
 * (its `appendToken`), compared by origin rather than by host name: the
 * login cookie's name carries the server's port, so another port on the same
 * host needs the token too. Without a page (tests, workers) nothing can tell,
 * so the token goes in.
 */
export function isTokenNeeded(
  baseUrl: string,
  pageUrl: string | undefined = globalThis.location?.href
): boolean {
  if (!pageUrl) {
    return true;
  }
  return new URL(baseUrl, pageUrl).origin !== new URL(pageUrl).origin;
}

/** Socket.IO connection options for a server: websocket only, path from the base URL. */
export function socketOptions(
  options: IServerOptions,
  pageUrl: string | undefined = globalThis.location?.href
): {
  url: string;
  path: string;
  query?: Record<string, string>;
} {
  // PageConfig.getBaseUrl() is absolute; Socket.IO reads a path in the URL
  // as a namespace, so the server's path goes into `path` instead.
  const base = new URL(options.baseUrl, pageUrl);
  const pathname = base.pathname.endsWith('/')
    ? base.pathname
    : base.pathname + '/';
  const append = options.appendToken ?? isTokenNeeded(options.baseUrl, pageUrl);
  return {
    url: base.origin,
    path: pathname + SOCKETIO_PATH,
    query: options.token && append ? { token: options.token } : undefined
  };
}

/**
 * Acquire a socket to the server, shared with other users unless one of them
 * claimed one of `claims` (session names or ids: `name:x`, `id:y`).
 *
 * The server attaches a session to a *socket* (its Socket.IO sid): two views
 * of one session on one socket would detach each other and move each
 * other's resume position. So views of the same session get different
 * sockets, and views of different sessions share one.
 */
export function acquireSocket(
  options: IServerOptions,
  claims: string[] = []
): ISocketLease {
  const key = `${options.baseUrl}\n${options.token ?? ''}`;
  const entries = Private.sockets.get(key) ?? [];
  Private.sockets.set(key, entries);
  let entry = entries.find(e => claims.every(c => !Private.isClaimed(e, c)));
  if (!entry) {
    const { url, path, query } = socketOptions(options);
    const socket = io(url, {
      path,
      query,
      transports: ['websocket'],
      // Our registry decides sharing; socket.io's own cache ignores `path`.
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000
    });
    entry = { socket, leases: new Set(), timer: undefined };
    entries.push(entry);
  }
  const held = entry;
  clearTimeout(held.timer);
  const lease: Private.ILease = {
    socket: held.socket,
    claims: new Set(claims),
    claim: (claim: string) => lease.claims.add(claim),
    release: () => {
      if (!held.leases.delete(lease) || held.leases.size) {
        return;
      }
      // A grace period: a re-rendered output or a reopened tab reuses it.
      held.timer = setTimeout(() => {
        if (!held.leases.size) {
          held.socket.disconnect();
          entries.splice(entries.indexOf(held), 1);
        }
      }, Private.GRACE);
    }
  };
  held.leases.add(lease);
  return lease;
}

/** Either a socket of one's own or the page's shared one (`baseUrl`). */
export interface ISocketChoice extends Partial<IServerOptions> {
  /** A socket to use instead of the page's shared one (tests, custom hosts). */
  socket?: ISocketLike;
}

/**
 * The lease every client of the server takes (a terminal connection, the
 * sessions client): `options.socket` as given (its owner keeps it; claims and
 * release do nothing), else a shared socket from {@link acquireSocket}.
 */
export function leaseSocket(
  options: ISocketChoice,
  claims: string[] = []
): ISocketLease {
  if (options.socket) {
    const socket = options.socket;
    return { socket, claim: () => undefined, release: () => undefined };
  }
  if (options.baseUrl) {
    return acquireSocket(options as IServerOptions, claims);
  }
  throw new Error('a socket or a baseUrl is needed');
}

namespace Private {
  export const GRACE = 3000;

  export interface ILease extends ISocketLease {
    claims: Set<string>;
  }

  export interface IEntry {
    socket: ISocketLike;
    leases: Set<ILease>;
    timer: ReturnType<typeof setTimeout> | undefined;
  }

  export function isClaimed(entry: IEntry, claim: string): boolean {
    return [...entry.leases].some(lease => lease.claims.has(claim));
  }

  export const sockets = new Map<string, IEntry[]>();
}

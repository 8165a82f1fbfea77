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
  release(): void;
}

/** Where the server is: what `PageConfig` gives a Jupyter page. */
export interface IServerOptions {
  /** Absolute base URL of the Jupyter server, ending with `/`. */
  baseUrl: string;
  /** Jupyter token; empty when the login cookie authenticates. */
  token?: string;
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

/** Socket.IO connection options for a server: websocket only, path from the base URL. */
export function socketOptions(options: IServerOptions): {
  url: string;
  path: string;
  query?: Record<string, string>;
} {
  // PageConfig.getBaseUrl() is absolute; Socket.IO reads a path in the URL
  // as a namespace, so the server's path goes into `path` instead.
  const base = new URL(options.baseUrl, globalThis.location?.href);
  const pathname = base.pathname.endsWith('/')
    ? base.pathname
    : base.pathname + '/';
  return {
    url: base.origin,
    path: pathname + SOCKETIO_PATH,
    // Browsers cannot set headers on a websocket; the token goes in the
    // query, and the login cookie (when there is no token) is sent anyway.
    query: options.token ? { token: options.token } : undefined
  };
}

/** Acquire the page's socket for a server, connecting on first use. */
export function acquireSocket(options: IServerOptions): ISocketLease {
  const key = `${options.baseUrl}\n${options.token ?? ''}`;
  let entry = Private.sockets.get(key);
  if (!entry) {
    const { url, path, query } = socketOptions(options);
    const socket = io(url, {
      path,
      query,
      transports: ['websocket'],
      // Our own registry shares sockets; socket.io's cache ignores `path`.
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000
    });
    entry = { socket, users: 0, timer: undefined };
    Private.sockets.set(key, entry);
  }
  const held = entry;
  clearTimeout(held.timer);
  held.users++;
  let released = false;
  return {
    socket: held.socket,
    release: () => {
      if (released) {
        return;
      }
      released = true;
      held.users--;
      if (held.users === 0) {
        // A grace period: a re-rendered output or a reopened tab reuses it.
        held.timer = setTimeout(() => {
          if (held.users === 0) {
            held.socket.disconnect();
            Private.sockets.delete(key);
          }
        }, Private.GRACE);
      }
    }
  };
}

namespace Private {
  export const GRACE = 3000;

  export interface IEntry {
    socket: ISocketLike;
    users: number;
    timer: ReturnType<typeof setTimeout> | undefined;
  }

  export const sockets = new Map<string, IEntry>();
}

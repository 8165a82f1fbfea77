/**
 * Socket sharing: one socket per server, except for two views of a session.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('socket.io-client', () => ({
  io: vi.fn((url: string, options: object) => ({
    url,
    options,
    disconnect: vi.fn()
  }))
}));

import { acquireSocket, socketOptions } from '../sockets';

const server = { baseUrl: 'http://example.org/user/a%40b/', token: 'abc' };

describe('socketOptions', () => {
  it('puts the base path in `path`, not in the URL (a namespace there)', () => {
    expect(socketOptions(server)).toEqual({
      url: 'http://example.org',
      path: '/user/a%40b/webpty/socket.io',
      query: { token: 'abc' }
    });
  });

  it('sends no token query when the cookie authenticates', () => {
    expect(socketOptions({ baseUrl: 'http://h/' }).query).toBeUndefined();
  });
});

describe('acquireSocket', () => {
  it('shares a socket between different sessions, not within one', () => {
    const a = acquireSocket(server, ['name:1']);
    const b = acquireSocket(server, ['name:2']);
    const c = acquireSocket(server, ['name:1']);
    expect(b.socket).toBe(a.socket);
    expect(c.socket).not.toBe(a.socket);
    a.claim('id:x');
    expect(acquireSocket(server, ['id:x']).socket).toBe(c.socket);
    for (const lease of [a, b, c]) {
      lease.release();
    }
  });

  it('disconnects after a grace period once unused', () => {
    vi.useFakeTimers();
    const lease = acquireSocket({ baseUrl: 'http://other/' });
    const socket = lease.socket as unknown as { disconnect: () => void };
    lease.release();
    lease.release(); // twice is harmless
    expect(socket.disconnect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5000);
    expect(socket.disconnect).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });
});

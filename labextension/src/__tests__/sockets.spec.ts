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

import {
  acquireSocket,
  isTokenNeeded,
  leaseSocket,
  socketOptions
} from '../sockets';
import { FakeSocket } from './fakeSocket';

const server = { baseUrl: 'http://example.org/user/a%40b/', token: 'abc' };

describe('socketOptions', () => {
  const page = 'http://example.org/user/a%40b/lab?token=abc';

  it('puts the base path in `path`, not in the URL (a namespace there)', () => {
    expect(socketOptions(server, page)).toEqual({
      url: 'http://example.org',
      path: '/user/a%40b/webpty/socket.io',
      query: undefined
    });
  });

  it('keeps the token out of the URL when the page origin serves the API', () => {
    // The login cookie authenticates; proxies must not log the token.
    expect(socketOptions(server, page).query).toBeUndefined();
    expect(
      socketOptions({ ...server, baseUrl: '/user/a%40b/' }, page).query
    ).toBeUndefined();
  });

  it('sends the token only to another origin (the only way there)', () => {
    for (const other of [
      'http://api.example.org/user/a%40b/',
      'https://example.org/user/a%40b/',
      'http://example.org:8888/user/a%40b/'
    ]) {
      expect(socketOptions({ ...server, baseUrl: other }, page).query).toEqual({
        token: 'abc'
      });
    }
  });

  it('sends the token when there is no page to compare with', () => {
    expect(socketOptions(server, undefined).query).toEqual({ token: 'abc' });
  });

  it('follows an explicit appendToken either way', () => {
    expect(socketOptions({ ...server, appendToken: true }, page).query).toEqual(
      { token: 'abc' }
    );
    const other = { baseUrl: 'http://api.example.org/', token: 'abc' };
    expect(
      socketOptions({ ...other, appendToken: false }, page).query
    ).toBeUndefined();
  });

  it('sends no token query when the cookie authenticates', () => {
    expect(socketOptions({ baseUrl: 'http://h/' }).query).toBeUndefined();
  });
});

describe('isTokenNeeded', () => {
  it('compares origins: scheme, host and port', () => {
    const page = 'http://h:8888/lab';
    expect(isTokenNeeded('http://h:8888/base/', page)).toBe(false);
    expect(isTokenNeeded('/base/', page)).toBe(false);
    expect(isTokenNeeded('http://h:9999/base/', page)).toBe(true);
    expect(isTokenNeeded('http://g:8888/base/', page)).toBe(true);
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

describe('leaseSocket', () => {
  it('lends a given socket without ever closing it', () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const disconnect = vi.spyOn(socket, 'disconnect');
    const lease = leaseSocket({ socket }, ['name:x']);
    expect(lease.socket).toBe(socket);
    lease.claim('id:y');
    lease.release();
    vi.advanceTimersByTime(60000);
    expect(disconnect).not.toHaveBeenCalled();
    vi.useRealTimers();
  });

  it('shares the page socket by base URL, and needs one or the other', () => {
    const a = leaseSocket({ baseUrl: 'http://lease/' });
    const b = leaseSocket({ baseUrl: 'http://lease/' });
    expect(a.socket).toBe(b.socket);
    expect(() => leaseSocket({})).toThrow(/socket or a baseUrl/);
    a.release();
    b.release();
  });
});

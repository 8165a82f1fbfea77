/**
 * Connection logic against a fake socket: dedup, resume, acks, input, resets.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { RETRY_BACKOFF, retryDelay, TerminalConnection } from '../connection';
import * as protocol from '../protocol';
import { ACK_INTERVAL, splitInput } from '../stream';
import { IOutputChunk, IResetRequest, ITerminalStatus } from '../types';
import { FakeSocket } from './fakeSocket';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** A connection bound by name, with everything it tells its consumer recorded. */
function setup(options: Partial<TerminalConnection.IOptions> = {}) {
  const socket = new FakeSocket();
  const connection = new TerminalConnection({
    socket,
    name: 'demo',
    ...options
  });
  const chunks: IOutputChunk[] = [];
  const resets: IResetRequest[] = [];
  const statuses: ITerminalStatus[] = [];
  connection.output.connect((_, chunk) => chunks.push(chunk));
  connection.reset.connect((_, reset) => resets.push(reset));
  connection.statusChanged.connect((_, status) => statuses.push(status));
  return { socket, connection, chunks, resets, statuses };
}

/** Answer the pending reconnect with a successful ack. */
async function answerReconnect(
  socket: FakeSocket,
  reply: Partial<protocol.IReconnectReply> = {}
): Promise<void> {
  socket.pending(protocol.RECONNECT).reply!({
    success: true,
    session_id: 'id-1',
    name: 'demo',
    created_at: '2026-01-01T00:00:00Z',
    offset: 0,
    end: 0,
    truncated: true,
    preamble: '',
    cols: 80,
    rows: 24,
    ...reply
  });
  await FakeSocket.flush();
}

/** Answer the pending create with a new session `sessionId`. */
async function answerCreate(
  socket: FakeSocket,
  sessionId: string
): Promise<void> {
  socket.pending(protocol.CREATE).reply!({
    success: true,
    session_id: sessionId,
    name: 'demo',
    created_at: '',
    offset: 0,
    cols: 80,
    rows: 24
  });
  await FakeSocket.flush();
}

/** Answer the pending reconnect as the server does for a name it does not have. */
async function answerNoSuchName(socket: FakeSocket): Promise<void> {
  socket.pending(protocol.RECONNECT).reply!({
    success: false,
    error: 'no session named demo'
  });
  await FakeSocket.flush();
}

function output(socket: FakeSocket, data: string, offset: number, id = 'id-1') {
  socket.serverEmit(protocol.OUTPUT, {
    session_id: id,
    data: bytes(data),
    offset
  });
}

describe('TerminalConnection', () => {
  it('attaches by name with the size once opened and connected', async () => {
    const { socket, connection, statuses } = setup();
    connection.open(100, 30);
    expect(socket.sent).toEqual([]);
    socket.serverEmit('connect');
    expect(socket.pending(protocol.RECONNECT).data).toEqual({
      name: 'demo',
      cols: 100,
      rows: 30,
      text: true
    });
    await answerReconnect(socket, { cols: 100, rows: 30 });
    expect(connection.sessionId).toBe('id-1');
    expect(statuses.map(s => s.state)).toEqual(['connected']);
  });

  it('resets and writes the preamble on a truncated (restored) attach', async () => {
    const { socket, connection, resets, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, {
      offset: 100,
      truncated: true,
      preamble: '\x1b[?1049h'
    });
    expect(resets).toEqual([{ preamble: '\x1b[?1049h', offset: 100 }]);
    output(socket, 'old', 90); // before the restore point
    output(socket, 'new!', 104);
    expect(chunks.map(c => [text(c.data), c.offset])).toEqual([['new!', 104]]);
  });

  it('drops output already delivered and trims overlaps', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 10 });
    output(socket, 'hello', 15);
    output(socket, 'hello', 15); // duplicate
    output(socket, 'lo!!!', 18); // covers 13..18: only 15..18 is new
    output(socket, 'other', 50, 'id-2'); // another session on the shared socket
    expect(chunks.map(c => [text(c.data), c.offset])).toEqual([
      ['hello', 15],
      ['!!!', 18]
    ]);
  });

  it('takes output sent as text as its UTF-8 bytes, offsets counted in bytes', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0, truncated: false });
    socket.serverEmit(protocol.OUTPUT, {
      session_id: 'id-1',
      data: 'h\u00e9llo', // 6 bytes in UTF-8
      offset: 6
    });
    output(socket, 'llo!', 7); // bytes again, overlapping the text by 3
    expect(chunks.map(c => [text(c.data), c.data.length, c.offset])).toEqual([
      ['h\u00e9llo', 6, 6],
      ['!', 1, 7]
    ]);
  });

  it('resumes from the last offset after a reconnect, without a reset', async () => {
    const { socket, connection, chunks, resets, statuses } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0 });
    output(socket, 'abc', 3);
    socket.serverEmit('disconnect', 'transport close');
    expect(statuses.at(-1)?.state).toBe('reconnecting');
    output(socket, 'lost', 7); // not attached: ignored, the resume brings it back
    socket.serverEmit('connect');
    expect(socket.pending(protocol.RECONNECT).data).toEqual({
      session_id: 'id-1',
      offset: 3,
      cols: 80,
      rows: 24,
      text: true
    });
    await answerReconnect(socket, { offset: 3, truncated: false });
    output(socket, 'lost', 7);
    expect(resets).toHaveLength(1); // only the first attach
    expect(chunks.map(c => text(c.data))).toEqual(['abc', 'lost']);
    expect(statuses.at(-1)?.state).toBe('connected');
  });

  it('resets in-band when the server resynchronises a slow viewer', async () => {
    const { socket, connection, chunks, resets } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0 });
    output(socket, 'abc', 3);
    socket.serverEmit(protocol.OUTPUT, {
      session_id: 'id-1',
      data: new Uint8Array(0),
      offset: 5000,
      truncated: true,
      preamble: '\x1b[?25l'
    });
    output(socket, 'zz', 4999); // before the new start: dropped
    output(socket, 'next', 5004);
    expect(resets.at(-1)).toEqual({ preamble: '\x1b[?25l', offset: 5000 });
    expect(chunks.map(c => text(c.data))).toEqual(['abc', 'next']);
    chunks[0].done(); // a callback from before the reset: no ack
    expect(socket.payloads(protocol.ACK)).toEqual([]);
    chunks[1].done();
    expect(socket.payloads(protocol.ACK)).toEqual([
      { session_id: 'id-1', offset: 5004 }
    ]);
  });

  it('keeps output that arrives before the attach acknowledgement', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    output(socket, 'early', 5);
    await answerReconnect(socket, { offset: 0 });
    expect(chunks.map(c => text(c.data))).toEqual(['early']);
  });

  it('acknowledges when the queue drains and at least every 64 KiB', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0 });
    const big = 'x'.repeat(ACK_INTERVAL / 2);
    output(socket, big, ACK_INTERVAL / 2);
    output(socket, big, ACK_INTERVAL);
    output(socket, 'tail', ACK_INTERVAL + 4);
    expect(socket.payloads(protocol.ACK)).toEqual([]); // nothing written yet
    chunks[0].done();
    expect(socket.payloads(protocol.ACK)).toEqual([]); // 32 KiB, not drained
    chunks[1].done();
    expect(socket.payloads(protocol.ACK)).toEqual([
      { session_id: 'id-1', offset: ACK_INTERVAL }
    ]);
    chunks[2].done();
    expect(socket.payloads(protocol.ACK).at(-1)).toEqual({
      session_id: 'id-1',
      offset: ACK_INTERVAL + 4
    });
  });

  it('ignores write callbacks of chunks from before a reset', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0 });
    output(socket, 'x'.repeat(10), 10);
    socket.serverEmit(protocol.EXIT, { session_id: 'id-1', exit_code: 0 });
    connection.restart();
    socket.pending(protocol.RECONNECT).reply!({
      success: false,
      error: 'unknown'
    });
    await FakeSocket.flush();
    await answerCreate(socket, 'id-2');
    chunks[0].done(); // the old session's 10 bytes: no ack to the new one
    expect(socket.payloads(protocol.ACK)).toEqual([]);
  });

  it('queues input typed before attach and splits long input', async () => {
    const { socket, connection } = setup();
    connection.write('ls\r');
    connection.open(80, 24);
    socket.serverEmit('connect');
    connection.write('x'.repeat(protocol.MAX_INPUT_CHARS + 1));
    expect(socket.payloads(protocol.INPUT)).toEqual([]);
    await answerReconnect(socket);
    const sent = socket.payloads(protocol.INPUT);
    expect(sent.map(p => p.data.length)).toEqual([
      3,
      protocol.MAX_INPUT_CHARS,
      1
    ]);
    expect(sent.every(p => p.session_id === 'id-1')).toBe(true);
    connection.write('pwd\r');
    expect(socket.payloads(protocol.INPUT).at(-1)).toEqual({
      session_id: 'id-1',
      data: 'pwd\r'
    });
  });

  it('creates the named session with its cwd when it does not exist', async () => {
    const { socket, connection, resets } = setup({ create: true, cwd: 'work' });
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerNoSuchName(socket);
    expect(socket.pending(protocol.CREATE).data).toEqual({
      name: 'demo',
      cwd: 'work',
      cols: 80,
      rows: 24,
      text: true
    });
    await answerCreate(socket, 'id-9');
    expect(connection.sessionId).toBe('id-9');
    expect(resets).toEqual([{ preamble: '', offset: 0 }]);
  });

  it('reports an error when the session is missing and creating is not allowed', async () => {
    const { socket, connection, statuses } = setup({ create: false });
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerNoSuchName(socket);
    expect(socket.events()).not.toContain(protocol.CREATE);
    expect(statuses.at(-1)).toEqual({
      state: 'error',
      message: 'no session named demo'
    });
  });

  it('reports the exit code and resizes only when attached and changed', async () => {
    const { socket, connection, statuses } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    connection.resize(90, 24); // before the ack: sent after it
    await answerReconnect(socket);
    expect(socket.payloads(protocol.RESIZE)).toEqual([
      { session_id: 'id-1', cols: 90, rows: 24 }
    ]);
    connection.resize(90, 24);
    expect(socket.payloads(protocol.RESIZE)).toHaveLength(1);
    socket.serverEmit(protocol.EXIT, { session_id: 'id-1', exit_code: 3 });
    expect(statuses.at(-1)).toEqual({ state: 'exited', exitCode: 3 });
    connection.write('ignored');
    expect(socket.payloads(protocol.INPUT)).toEqual([]);
  });

  it('detaches and stops listening when disposed', async () => {
    const { socket, connection, chunks } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket);
    connection.dispose();
    expect(socket.payloads(protocol.DETACH)).toEqual([{ session_id: 'id-1' }]);
    output(socket, 'late', 4);
    expect(chunks).toEqual([]);
  });
});

/** Answer the pending reconnect as the server does for an id it does not have. */
async function answerNotFound(socket: FakeSocket, key = 'id-1'): Promise<void> {
  socket.pending(protocol.RECONNECT).reply!({
    success: false,
    error: `no such terminal session: '${key}'`
  });
  await FakeSocket.flush();
}

describe('TerminalConnection after a server restart', () => {
  /** Attached by name to `id-1` (created or found), then the server went away. */
  async function attachedThenRestarted(options = { create: true }) {
    const setupResult = setup(options);
    const { socket, connection } = setupResult;
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket, { offset: 0 });
    output(socket, 'abc', 3);
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect'); // the new server
    return setupResult;
  }

  it('asks for the known id only, never by name, and never creates', async () => {
    const { socket, connection, statuses } = await attachedThenRestarted();
    expect(socket.pending(protocol.RECONNECT).data).toEqual({
      session_id: 'id-1',
      offset: 3,
      cols: 80,
      rows: 24,
      text: true
    });
    await answerNotFound(socket);
    // Nothing else was asked: not by name (another shell may have that name
    // now), and no create although this view may create.
    expect(socket.events().filter(e => e === protocol.RECONNECT)).toHaveLength(
      2
    );
    expect(socket.events()).not.toContain(protocol.CREATE);
    expect(statuses.at(-1)).toEqual({ state: 'gone', reason: 'missing' });
    expect(connection.sessionId).toBeUndefined();
    expect(connection.name).toBe('demo');
  });

  it('stays gone: ignores typing and later reconnects', async () => {
    const { socket, connection, statuses } = await attachedThenRestarted();
    await answerNotFound(socket);
    const sent = socket.sent.length;
    connection.write('ls\r');
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect');
    expect(socket.sent.length).toBe(sent);
    expect(statuses.at(-1)?.state).toBe('gone');
  });

  it('starts a new shell under the same name only on restart()', async () => {
    const { socket, connection, statuses, resets } =
      await attachedThenRestarted();
    await answerNotFound(socket);
    connection.restart();
    // By name first (another page may have started it meanwhile), then create.
    expect(socket.pending(protocol.RECONNECT).data).toEqual({
      name: 'demo',
      cols: 80,
      rows: 24,
      text: true
    });
    socket.pending(protocol.RECONNECT).reply!({
      success: false,
      error: "no such terminal session: 'demo'"
    });
    await FakeSocket.flush();
    expect(socket.pending(protocol.CREATE).data).toEqual({
      name: 'demo',
      cols: 80,
      rows: 24,
      text: true
    });
    await answerCreate(socket, 'id-2');
    expect(connection.sessionId).toBe('id-2');
    expect(statuses.at(-1)).toEqual({ state: 'connected' });
    // The old screen is cleared: the new shell's output starts at 0.
    expect(resets.at(-1)).toEqual({ preamble: '', offset: 0 });
    connection.write('echo\r');
    expect(socket.payloads(protocol.INPUT)).toEqual([
      { session_id: 'id-2', data: 'echo\r' }
    ]);
  });

  it('says when the server ended the shell because it was stopping', async () => {
    const { socket, connection, statuses } = setup();
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerReconnect(socket);
    socket.serverEmit(protocol.EXIT, {
      session_id: 'id-1',
      exit_code: -1,
      reason: protocol.EXIT_REASON_SHUTDOWN
    });
    expect(statuses.at(-1)).toEqual({ state: 'gone', reason: 'shutdown' });
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect');
    expect(socket.events()).toEqual([protocol.RECONNECT]);
    expect(statuses.at(-1)?.state).toBe('gone');
  });

  it('treats a given session id as known (a restored tab)', async () => {
    const { socket, connection, statuses } = setup({
      sessionId: 'id-1',
      create: true
    });
    socket.serverEmit('connect');
    connection.open(80, 24);
    expect(socket.pending(protocol.RECONNECT).data).toEqual({
      session_id: 'id-1',
      cols: 80,
      rows: 24,
      text: true
    });
    await answerNotFound(socket);
    expect(socket.events()).toEqual([protocol.RECONNECT]);
    expect(statuses.at(-1)).toEqual({ state: 'gone', reason: 'missing' });
  });

  it('still creates on a first open by name (nothing known yet)', async () => {
    const { socket, connection } = setup({ create: true });
    socket.serverEmit('connect');
    connection.open(80, 24);
    await answerNotFound(socket, 'demo');
    await answerCreate(socket, 'id-1');
    expect(connection.sessionId).toBe('id-1');
  });
});

describe('splitInput', () => {
  it('keeps surrogate pairs whole', () => {
    const pieces = splitInput('ab😀cd', 3);
    expect(pieces).toEqual(['ab', '😀c', 'd']);
    expect(pieces.join('')).toBe('ab😀cd');
  });

  it('returns nothing for empty input', () => {
    expect(splitInput('')).toEqual([]);
  });
});

describe('attach retries', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('back off exponentially up to a cap, with half of each step random', () => {
    const { initial, growth, max } = RETRY_BACKOFF;
    expect(retryDelay(0, () => 0)).toBe(initial / 2);
    expect(retryDelay(0, () => 1)).toBe(initial);
    expect(retryDelay(1, () => 0)).toBe((initial * growth) / 2);
    expect(retryDelay(3, () => 1)).toBe(initial * growth ** 3);
    expect(retryDelay(50, () => 1)).toBe(max);
    expect(retryDelay(50, () => 0)).toBe(max / 2);
    const spread = new Set(Array.from({ length: 20 }, () => retryDelay(2)));
    expect(spread.size).toBeGreaterThan(1); // jitter: tabs do not retry in lockstep
  });

  it('wait longer after each timeout and start over once attached', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(1); // the longest wait of each step
    const { socket, connection, statuses } = setup();
    connection.open(80, 24);
    socket.serverEmit('connect');
    const requests = () =>
      socket.events().filter(e => e === protocol.RECONNECT);
    const timeOut = async () => {
      socket.pending(protocol.RECONNECT).fail!(
        new Error('operation has timed out')
      );
      await FakeSocket.flush();
    };
    const { initial, growth } = RETRY_BACKOFF;
    await timeOut();
    expect(statuses.at(-1)).toEqual({
      state: 'reconnecting',
      message: 'operation has timed out'
    });
    vi.advanceTimersByTime(initial - 1);
    expect(requests()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(requests()).toHaveLength(2);
    await timeOut();
    vi.advanceTimersByTime(initial * growth - 1);
    expect(requests()).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(requests()).toHaveLength(3);
    await answerReconnect(socket);
    expect(connection.status.state).toBe('connected');
    // After a success the next timeout waits the first step again.
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect');
    await timeOut();
    vi.advanceTimersByTime(initial);
    expect(requests()).toHaveLength(5);
  });
});

/**
 * JupyterLab's terminal service over webpty, against a fake socket: the
 * adapter's terminado-style messages, acks, exit, and the manager's
 * create / attach / list / shut down, and its delegation to the built-in one.
 */
import type { ServerConnection, Terminal } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { describe, expect, it } from 'vitest';

import { TerminalConnection } from '../connection';
import * as protocol from '../protocol';
import { WebPtyTerminalConnection } from '../termconnection';
import { WebPtyTerminalManager } from '../termmanager';
import { FakeSocket } from './fakeSocket';

const settings = {
  baseUrl: 'http://localhost/',
  wsUrl: 'ws://localhost/'
} as ServerConnection.ISettings;

/** A macrotask: the adapter acknowledges after xterm.js had its turn. */
const tick = () => new Promise(resolve => setTimeout(resolve, 0));

/** An adapter over a connection bound by name, attached. */
async function attached(reply: Partial<protocol.IReconnectReply> = {}) {
  const socket = new FakeSocket();
  const closed: string[] = [];
  const adapter = new WebPtyTerminalConnection({
    connection: new TerminalConnection({ socket, name: 'demo', create: false }),
    serverSettings: settings,
    shutdown: async id => void closed.push(id)
  });
  const messages: Terminal.IMessage[] = [];
  const statuses: Terminal.ConnectionStatus[] = [];
  adapter.messageReceived.connect((_, m) => void messages.push(m));
  adapter.connectionStatusChanged.connect((_, s) => void statuses.push(s));
  socket.serverEmit('connect');
  socket.pending(protocol.RECONNECT).reply!({
    success: true,
    session_id: 'id-1',
    name: 'demo',
    created_at: '',
    offset: 0,
    end: 0,
    truncated: false,
    preamble: '',
    cols: 80,
    rows: 24,
    ...reply
  });
  await FakeSocket.flush();
  return { socket, adapter, messages, statuses, closed };
}

function output(socket: FakeSocket, data: Uint8Array, offset: number) {
  socket.serverEmit(protocol.OUTPUT, { session_id: 'id-1', data, offset });
}

describe('WebPtyTerminalConnection', () => {
  it('opens at once and reports JupyterLab statuses', async () => {
    const { socket, adapter, statuses } = await attached();
    expect(adapter.name).toBe('demo');
    expect(adapter.model).toEqual({ name: 'demo' });
    expect(adapter.connectionStatus).toBe('connected');
    socket.serverEmit('disconnect', 'transport close');
    expect(adapter.connectionStatus).toBe('connecting');
    expect(statuses).toEqual(['connected', 'connecting']);
  });

  it('turns output into stdout strings, a character split across chunks included', async () => {
    const { socket, messages } = await attached();
    // A first attach resets the terminal (ESC c) before any output.
    expect(messages.splice(0)).toEqual([
      { type: 'stdout', content: ['\x1bc'] }
    ]);
    const euro = new TextEncoder().encode('a€b'); // € is 3 bytes
    output(socket, euro.subarray(0, 2), 2);
    output(socket, euro.subarray(2), 5);
    expect(messages.map(m => m.content?.[0]).join('')).toBe('a€b');
    expect(messages.every(m => m.type === 'stdout')).toBe(true);
  });

  it('acknowledges output after a macrotask, not while delivering it', async () => {
    const { socket } = await attached();
    output(socket, new TextEncoder().encode('hello'), 5);
    expect(socket.payloads(protocol.ACK)).toEqual([]);
    await tick();
    expect(socket.payloads(protocol.ACK)).toEqual([
      { session_id: 'id-1', offset: 5 }
    ]);
  });

  it("acknowledges on the widget's own write of a chunk, once xterm.js parsed it", async () => {
    const { socket, adapter } = await attached();
    // xterm.js as JupyterLab's widget uses it: the widget writes each stdout
    // message at once, without a callback; parsing calls back later.
    const writes: string[] = [];
    const parsed: (() => void)[] = [];
    const term = {
      write(data: string | Uint8Array, callback?: () => void): void {
        writes.push(String(data));
        if (callback) {
          parsed.push(callback);
        }
      }
    };
    adapter.messageReceived.connect((_, m) => {
      if (m.type === 'stdout') {
        term.write(String(m.content?.[0]));
      }
    });
    adapter.ackAfter(term);
    output(socket, new TextEncoder().encode('x'), 1);
    output(socket, new TextEncoder().encode('y'), 2);
    // One write per chunk: no second, empty write (it cost xterm.js a frame).
    expect(writes).toEqual(['x', 'y']);
    await tick();
    expect(socket.payloads(protocol.ACK)).toEqual([]); // not parsed yet
    parsed.shift()!();
    expect(socket.payloads(protocol.ACK)).toEqual([]); // 'y' still waits
    parsed.shift()!();
    expect(socket.payloads(protocol.ACK)).toEqual([
      { session_id: 'id-1', offset: 2 }
    ]);
    // Writes of the widget's own (not a chunk of ours) pass through untouched.
    term.write('[Finished]');
    expect(parsed).toEqual([]);
  });

  it('falls back to a macrotask ack when the widget did not write at once', async () => {
    const { socket, adapter } = await attached();
    adapter.ackAfter({ write: () => undefined }); // a widget that buffers
    output(socket, new TextEncoder().encode('x'), 1);
    await tick();
    expect(socket.payloads(protocol.ACK)).toEqual([
      { session_id: 'id-1', offset: 1 }
    ]);
  });

  it('restores the screen: reset, then the preamble', async () => {
    const { messages } = await attached({
      truncated: true,
      preamble: '\x1b[?1049hvim'
    });
    expect(messages).toEqual([
      { type: 'stdout', content: ['\x1bc\x1b[?1049hvim'] }
    ]);
  });

  it('sends stdin as input and set_size as a resize', async () => {
    const { socket, adapter } = await attached();
    adapter.send({ type: 'stdin', content: ['ls\r'] });
    adapter.send({ type: 'set_size', content: [40, 120, 600, 900] });
    expect(socket.payloads(protocol.INPUT)).toEqual([
      { session_id: 'id-1', data: 'ls\r' }
    ]);
    expect(socket.payloads(protocol.RESIZE)).toEqual([
      { session_id: 'id-1', cols: 120, rows: 40 }
    ]);
  });

  it('says disconnect and disposes when the shell exits', async () => {
    const { socket, adapter, messages } = await attached();
    let disposed = false;
    adapter.disposed.connect(() => (disposed = true));
    socket.serverEmit(protocol.EXIT, { session_id: 'id-1', exit_code: 3 });
    expect(messages.at(-1)).toEqual({ type: 'disconnect', content: [3] });
    expect(disposed).toBe(true);
    expect(adapter.isDisposed).toBe(true);
    expect(adapter.connectionStatus).toBe('disconnected');
  });

  it('reconnect resolves while attached and fails once the shell ended', async () => {
    const { socket, adapter } = await attached();
    await adapter.reconnect();
    socket.serverEmit(protocol.EXIT, { session_id: 'id-1', exit_code: 0 });
    await expect(adapter.reconnect()).rejects.toThrow('has ended');
  });

  it('shuts down its session by id', async () => {
    const { adapter, closed } = await attached();
    await adapter.shutdown();
    expect(closed).toEqual(['id-1']);
    expect(adapter.isDisposed).toBe(true);
  });
});

/** A manager on a connected fake socket, webpty chosen. */
function manager() {
  const socket = new FakeSocket();
  socket.serverEmit('connect');
  const terminals = new WebPtyTerminalManager({
    server: { socket },
    serverSettings: settings,
    probe: async () => true
  });
  terminals.choose('webpty');
  return { socket, terminals };
}

/** JupyterLab's own terminal manager, as much of it as ours uses; `parts` replace the defaults. */
function fakeBuiltin(parts: Record<string, unknown>): Terminal.IManager {
  return {
    runningChanged: new Signal<unknown, Terminal.IModel[]>({}),
    connectionFailure: new Signal({}),
    ready: Promise.resolve(),
    running: () => [][Symbol.iterator](),
    isAvailable: () => true,
    dispose: () => undefined,
    ...parts
  } as unknown as Terminal.IManager;
}

/** Our manager with `builtin` beside it; `present`: whether our server extension answers. */
function overBuiltin(
  socket: FakeSocket,
  builtin: Terminal.IManager,
  present: boolean
): WebPtyTerminalManager {
  return new WebPtyTerminalManager({
    server: { socket },
    serverSettings: settings,
    builtin: () => builtin,
    probe: async () => present
  });
}

function sessionInfo(name: string, id: string): protocol.ISessionInfo {
  return {
    session_id: id,
    name,
    created_at: '',
    last_activity: '',
    cwd: null,
    cols: 80,
    rows: 24,
    clients: 0,
    command: 'bash',
    running_command: null,
    last_exit_code: null,
    shell_integration: false
  };
}

async function answerList(
  socket: FakeSocket,
  sessions: protocol.ISessionInfo[]
) {
  await FakeSocket.flush();
  socket.pending(protocol.LIST).reply!({ success: true, sessions });
  await FakeSocket.flush();
}

describe('WebPtyTerminalManager', () => {
  it('lists webpty sessions as running terminals', async () => {
    const { socket, terminals } = manager();
    const changes: string[][] = [];
    terminals.runningChanged.connect((_, models) =>
      changes.push(models.map(m => m.name))
    );
    await answerList(socket, [sessionInfo('1', 'a'), sessionInfo('2', 'b')]);
    await terminals.ready;
    expect([...terminals.running()]).toEqual([{ name: '1' }, { name: '2' }]);
    // The server says the list changed: listed again.
    socket.serverEmit(protocol.CHANGED);
    await answerList(socket, [sessionInfo('2', 'b')]);
    expect(changes).toEqual([['1', '2'], ['2']]);
    expect(terminals.isAvailable()).toBe(true);
  });

  it('startNew creates a session in cwd and resolves with its name', async () => {
    const { socket, terminals } = manager();
    await answerList(socket, []);
    const started = terminals.startNew({ cwd: 'sub/dir' });
    await FakeSocket.flush();
    const create = socket.pending(protocol.CREATE);
    expect(create.data).toEqual({
      cols: 80,
      rows: 24,
      text: true,
      cwd: 'sub/dir'
    });
    create.reply!({
      success: true,
      session_id: 'id-9',
      name: '3',
      created_at: '',
      offset: 0,
      cols: 80,
      rows: 24
    });
    const connection = await started;
    expect(connection.name).toBe('3');
    expect(connection.connectionStatus).toBe('connected');
  });

  it('connectTo attaches by name and never creates', async () => {
    const { socket, terminals } = manager();
    await answerList(socket, []);
    const connection = terminals.connectTo({ model: { name: 'gone' } });
    await FakeSocket.flush();
    socket.pending(protocol.RECONNECT).reply!({
      success: false,
      error: 'no session named gone'
    });
    await FakeSocket.flush();
    expect(socket.events()).not.toContain(protocol.CREATE);
    expect(connection.isDisposed).toBe(true);
  });

  it('shuts a terminal down by name', async () => {
    const { socket, terminals } = manager();
    await answerList(socket, [sessionInfo('1', 'a'), sessionInfo('2', 'b')]);
    const done = terminals.shutdown('2');
    await answerList(socket, [sessionInfo('1', 'a'), sessionInfo('2', 'b')]);
    const close = socket.pending(protocol.CLOSE);
    expect(close.data).toEqual({ session_id: 'b' });
    close.reply!({ success: true });
    await answerList(socket, [sessionInfo('1', 'a')]);
    await done;
    expect([...terminals.running()]).toEqual([{ name: '1' }]);
  });

  it('hands every call to the built-in manager when chosen', async () => {
    const socket = new FakeSocket();
    const calls: string[] = [];
    const builtin = fakeBuiltin({
      running: () => [{ name: 't1' }][Symbol.iterator](),
      startNew: async (options: unknown) => {
        calls.push(`startNew ${JSON.stringify(options)}`);
        return { name: 't2' };
      },
      shutdown: async (name: string) => void calls.push(`shutdown ${name}`)
    });
    const terminals = overBuiltin(socket, builtin, true);
    const started = terminals.startNew({ name: 'x' }); // waits for the choice
    terminals.choose('builtin');
    terminals.choose('webpty'); // too late: ignored
    expect((await started).name).toBe('t2');
    await terminals.shutdown('t1');
    await terminals.ready;
    expect(terminals.isBuiltin).toBe(true);
    expect([...terminals.running()]).toEqual([{ name: 't1' }]);
    expect(calls).toEqual(['startNew {"name":"x"}', 'shutdown t1']);
    expect(socket.sent).toEqual([]); // webpty was never asked
  });

  it('falls back to the built-in manager when our server extension is not there', async () => {
    const socket = new FakeSocket();
    const builtin = fakeBuiltin({
      startNew: async () => ({ name: 'terminado' })
    });
    const terminals = overBuiltin(socket, builtin, false);
    terminals.choose('webpty');
    expect((await terminals.startNew()).name).toBe('terminado');
    expect(terminals.isBuiltin).toBe(true);
    expect(socket.sent).toEqual([]);
  });
});

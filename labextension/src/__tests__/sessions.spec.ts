/**
 * SessionsClient: `terminal:command` events reach the panel, malformed ones do not.
 */
import { describe, expect, it } from 'vitest';

import * as protocol from '../protocol';
import { SessionsClient } from '../sessions';
import { FakeSocket } from './fakeSocket';

const command: protocol.ICommandInfo = {
  seq: 1,
  command: 'make test',
  cwd: '/tmp',
  start: 10,
  end: null,
  exit_code: null,
  started_at: '2026-12-02T00:00:00+00:00',
  duration: null
};

describe('SessionsClient.command', () => {
  it('fires for each started or finished command, until disposed', () => {
    const socket = new FakeSocket();
    const client = new SessionsClient({ socket });
    const seen: protocol.ICommandEvent[] = [];
    client.command.connect((_, event) => seen.push(event));
    const started: protocol.ICommandEvent = {
      session_id: 's1',
      event: protocol.COMMAND_STARTED,
      command
    };
    const finished: protocol.ICommandEvent = {
      session_id: 's1',
      event: protocol.COMMAND_FINISHED,
      command: { ...command, end: 20, exit_code: 2, duration: 0.5 }
    };
    socket.serverEmit(protocol.COMMAND, started);
    socket.serverEmit(protocol.COMMAND, finished);
    socket.serverEmit(protocol.COMMAND, { session_id: 's1' }); // no command
    socket.serverEmit(protocol.COMMAND, null);
    expect(seen).toEqual([started, finished]);
    client.dispose();
    socket.serverEmit(protocol.COMMAND, started);
    expect(seen).toHaveLength(2);
  });
});

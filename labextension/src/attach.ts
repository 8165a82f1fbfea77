/**
 * The request sequence that binds a connection to a session.
 *
 * The protocol has no "unknown session" error code, so each step falls
 * through on any failure: reconnect by id (with offset), else by name, else
 * create (when allowed), else reconnect by name once more in case another
 * page created that name between our two requests.
 */
import * as protocol from './protocol';
import { ISocketLike, request } from './sockets';

/** What we know about the session to attach to. */
export interface IBinding {
  sessionId?: string;
  name?: string;
  /** Resume after this offset (only with `sessionId`). */
  offset?: number | null;
  /** May create the session. */
  create: boolean;
  /** Working directory for a created session. */
  cwd?: string;
  cols: number;
  rows: number;
}

/** The outcome: a session attached (created or not), or the last failure. */
export type AttachResult =
  | { created: true; reply: protocol.ICreateReply }
  | { created: false; reply: protocol.IReconnectReply }
  | { created: false; reply: protocol.IFailure };

/** Run the sequence; rejects only when a request times out. */
export async function attach(
  socket: ISocketLike,
  binding: IBinding
): Promise<AttachResult> {
  // `text`: echoes and prompts come in one frame instead of a packet and its
  // binary attachment, which a browser hands over as two tasks (~0.2 ms apart).
  const size = { cols: binding.cols, rows: binding.rows, text: true };
  const reconnect = (body: protocol.IReconnectRequest) =>
    request<protocol.Reply<protocol.IReconnectReply>>(
      socket,
      protocol.RECONNECT,
      { ...body, ...size }
    );
  let failure: protocol.IFailure = {
    success: false,
    error: 'no session to attach to'
  };
  if (binding.sessionId !== undefined) {
    const body: protocol.IReconnectRequest = { session_id: binding.sessionId };
    if (binding.offset !== undefined && binding.offset !== null) {
      body.offset = binding.offset;
    }
    const reply = await reconnect(body);
    if (reply.success) {
      return { created: false, reply };
    }
    failure = reply;
  }
  if (binding.name !== undefined) {
    // By name there is no offset: that name may now be another session.
    const reply = await reconnect({ name: binding.name });
    if (reply.success) {
      return { created: false, reply };
    }
    failure = reply;
  }
  if (!binding.create) {
    return { created: false, reply: failure };
  }
  const body: protocol.ICreateRequest = { ...size };
  if (binding.name !== undefined) {
    body.name = binding.name;
  }
  if (binding.cwd !== undefined) {
    body.cwd = binding.cwd;
  }
  const created = await request<protocol.Reply<protocol.ICreateReply>>(
    socket,
    protocol.CREATE,
    body
  );
  if (created.success) {
    return { created: true, reply: created };
  }
  if (binding.name !== undefined) {
    const again = await reconnect({ name: binding.name });
    if (again.success) {
      return { created: false, reply: again };
    }
  }
  return { created: false, reply: created };
}

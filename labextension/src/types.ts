/**
 * Types shared by the connection and its consumers (views, hosts, tests).
 */

/** Life cycle as shown to the user. */
export type TerminalState =
  'connecting' | 'connected' | 'reconnecting' | 'exited' | 'gone' | 'error';

/**
 * Why a known session is `gone`: the server ended it because it was stopping
 * (`shutdown`), or the server no longer knows its id (`missing`: a restart,
 * or a close while this page was disconnected).
 */
export type GoneReason = 'shutdown' | 'missing';

/** A state plus what explains it. */
export interface ITerminalStatus {
  state: TerminalState;
  /** With `exited`: the shell's code (negative: killed by that signal). */
  exitCode?: number | null;
  /** With `gone`. */
  reason?: GoneReason;
  /** With `error`, or with `(re)connecting` when the last try failed. */
  message?: string;
}

/** Output bytes and the stream position of their end. */
export interface IOutputChunk {
  data: Uint8Array;
  offset: number;
  /** Call once `data` is written (an xterm write callback): drives acks. */
  done(): void;
}

/** Reset the terminal, then write `preamble`; later output starts at `offset`. */
export interface IResetRequest {
  preamble: string;
  offset: number;
}

/** Which session the connection is bound to, once known. */
export interface ISessionIdentity {
  session_id: string;
  name: string;
}

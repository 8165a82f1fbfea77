/**
 * Offset bookkeeping for one terminal's output stream, and input splitting.
 *
 * Offsets are byte positions in the session's output (each `terminal:output`
 * carries the END position of its data). Pure logic: no socket, no DOM.
 */
import { MAX_INPUT_CHARS, MAX_SIZE, MIN_SIZE } from './protocol';

/** Acknowledge processed output at least this often, bytes (the protocol asks for 64 KiB). */
export const ACK_INTERVAL = 64 * 1024;

/**
 * What was handed to the terminal, what it processed, and what the server
 * was told, so a resume neither loses nor repeats a byte.
 */
export class OutputStream {
  /** End of the last chunk accepted (null: no position yet, restore needed). */
  get received(): number | null {
    return this._received;
  }

  /** Bumped at each reset: callbacks of older chunks are then ignored. */
  get generation(): number {
    return this._generation;
  }

  /** Start over at `offset` (a new session, or a restored screen). */
  reset(offset: number): void {
    this._received = this._processed = this._acked = offset;
    this._generation++;
  }

  /** Forget the position: the next attach needs a restore. */
  forget(): void {
    this._received = null;
    this._generation++;
  }

  /**
   * Accept a chunk ending at `end`; returns the bytes not seen yet, or null
   * when all of it was delivered already (a resume overlapping what we had).
   */
  accept(data: Uint8Array, end: number): Uint8Array | null {
    if (this._received === null || end <= this._received) {
      return null;
    }
    const start = end - data.length;
    const fresh =
      start < this._received ? data.subarray(this._received - start) : data;
    this._received = end;
    return fresh;
  }

  /**
   * The terminal processed output up to `offset` of `generation`; returns the
   * offset to acknowledge now, or null (too soon, or a stale callback).
   */
  processed(generation: number, offset: number): number | null {
    if (generation !== this._generation || offset <= this._processed) {
      return null;
    }
    this._processed = offset;
    // Ack when the write queue drained, and at least every ACK_INTERVAL.
    const drained = this._received !== null && offset >= this._received;
    if (drained || offset - this._acked >= ACK_INTERVAL) {
      this._acked = offset;
      return offset;
    }
    return null;
  }

  private _received: number | null = null;
  private _processed = 0;
  private _acked = 0;
  private _generation = 0;
}

/**
 * Split `data` into pieces of at most `limit` UTF-16 units, never between the
 * halves of a surrogate pair (the server refuses lone surrogates). A JS string
 * of n units holds at most n code points, so Python's `len` limit holds too.
 */
export function splitInput(data: string, limit = MAX_INPUT_CHARS): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + limit, data.length);
    const last = data.charCodeAt(end - 1);
    const isHighSurrogate = last >= 0xd800 && last <= 0xdbff;
    if (isHighSurrogate && end < data.length && end - start > 1) {
      end--;
    }
    pieces.push(data.slice(start, end));
    start = end;
  }
  return pieces;
}

/** Socket.IO gives an ArrayBuffer in browsers and a Buffer (a Uint8Array) in Node. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) {
    return data;
  }
  if (data instanceof ArrayBuffer) {
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (typeof data === 'string') {
    return new TextEncoder().encode(data); // output as text (attach.ts asks for it)
  }
  return new Uint8Array(0);
}

/** Bring a terminal size within the protocol's bounds. */
export function clampSize(
  cols: number,
  rows: number
): { cols: number; rows: number } {
  const clamp = (value: number) =>
    Math.min(MAX_SIZE, Math.max(MIN_SIZE, Math.floor(value) || MIN_SIZE));
  return { cols: clamp(cols), rows: clamp(rows) };
}

/**
 * A tiny in-memory stand-in for a socket.io-client Socket: records emits,
 * lets the test answer acknowledgements and push server events.
 */
import { ISocketLike } from '../sockets';

/** One emit the code under test made. */
export interface ISent {
  event: string;
  data: any;
  /** Present when an acknowledgement was requested. */
  reply?: (value: unknown) => void;
  /** Fail the request as socket.io does on timeout. */
  fail?: (error: Error) => void;
}

export class FakeSocket implements ISocketLike {
  connected = false;
  active = true;
  sent: ISent[] = [];
  private _requests = new Set<ISent>();
  private _listeners = new Map<string, Array<(...args: any[]) => void>>();

  on(event: string, listener: (...args: any[]) => void): this {
    this._listeners.set(event, [
      ...(this._listeners.get(event) ?? []),
      listener
    ]);
    return this;
  }

  off(event: string, listener: (...args: any[]) => void): this {
    const rest = (this._listeners.get(event) ?? []).filter(l => l !== listener);
    this._listeners.set(event, rest);
    return this;
  }

  emit(event: string, data?: unknown): this {
    this.sent.push({ event, data });
    return this;
  }

  timeout(_ms: number) {
    return {
      emit: (
        event: string,
        data: unknown,
        callback: (error: unknown, reply: unknown) => void
      ) => {
        const sent: ISent = { event, data };
        // Each request is answered once: afterwards it is no longer pending.
        sent.reply = value => {
          sent.reply = sent.fail = undefined;
          callback(null, value);
        };
        sent.fail = error => {
          sent.reply = sent.fail = undefined;
          callback(error, undefined);
        };
        this._requests.add(sent);
        this.sent.push(sent);
      }
    };
  }

  disconnect(): this {
    this.connected = false;
    return this;
  }

  /** Deliver a server event (or 'connect'/'disconnect') to listeners. */
  serverEmit(event: string, ...args: unknown[]): void {
    if (event === 'connect') {
      this.connected = true;
    } else if (event === 'disconnect') {
      this.connected = false;
    }
    for (const listener of this._listeners.get(event) ?? []) {
      listener(...args);
    }
  }

  /** The last request for `event` still awaiting its reply. */
  pending(event: string): ISent {
    const found = [...this.sent]
      .reverse()
      .find(s => s.event === event && s.reply);
    if (!found) {
      throw new Error(`no pending ${event}; sent: ${this.events().join(', ')}`);
    }
    return found;
  }

  /** Events emitted so far, by name. */
  events(): string[] {
    return this.sent.map(s => s.event);
  }

  /** Payloads of fire-and-forget emits of `event`. */
  payloads(event: string): any[] {
    return this.sent
      .filter(s => s.event === event && !this._requests.has(s))
      .map(s => s.data);
  }

  /** Let pending promise callbacks run. */
  static async flush(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await Promise.resolve();
    }
  }
}

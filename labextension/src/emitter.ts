/**
 * A minimal typed event emitter, so the connection layer needs no Lumino.
 */

/** Something that can be disposed; matches Lumino's and xterm's shape. */
export interface IDisposable {
  dispose(): void;
}

/** Subscribe-only side of an {@link Emitter}. */
export interface IEvent<T> {
  (listener: (value: T) => void): IDisposable;
}

/** Calls listeners synchronously in subscription order. */
export class Emitter<T> {
  private _listeners: Array<(value: T) => void> = [];

  /** Subscribe; dispose the result to unsubscribe. */
  readonly event: IEvent<T> = listener => {
    this._listeners.push(listener);
    return {
      dispose: () => {
        this._listeners = this._listeners.filter(l => l !== listener);
      }
    };
  };

  /** Deliver `value` to every listener; a throwing listener does not stop the others. */
  fire(value: T): void {
    for (const listener of this._listeners.slice()) {
      try {
        listener(value);
      } catch (error) {
        console.error('jupyter-webpty: listener failed', error);
      }
    }
  }

  /** Drop all listeners. */
  dispose(): void {
    this._listeners = [];
  }
}

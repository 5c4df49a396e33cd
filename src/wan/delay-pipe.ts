/**
 * One direction of a proxied connection, delayed: every chunk is written to the destination a
 * fixed delay after it arrived, in arrival order (deadlines never decrease, so FIFO by deadline).
 * If too many bytes wait, the source is paused until they drain, so a fast sender cannot make the
 * emulator buffer without bound.
 */
import type { Socket } from 'node:net';

const waitingBytesMax = 16 * 1024 * 1024;

/** Marks the source's end in the queue: the destination is ended once the delay has passed. */
const END = Buffer.alloc(0);

export class DelayPipe {
  #queue: Array<{ at: number; chunk: Buffer }> = [];
  #waiting = 0;
  #timer: NodeJS.Timeout | null = null;
  #lastDeadline = 0;
  #closed = false;

  constructor(
    private readonly source: Socket,
    private readonly dest: Socket,
    private delayMs: () => number,
  ) {
    source.on('data', (chunk: Buffer) => this.#push(chunk));
    source.on('end', () => this.#push(null));
    dest.on('drain', () => this.#throttle());
  }

  #push(chunk: Buffer | null): void {
    if (this.#closed) return;
    const at = Math.max(this.#lastDeadline, Date.now() + this.delayMs());
    this.#lastDeadline = at;
    this.#queue.push({ at, chunk: chunk ?? END });
    if (chunk !== null) {
      this.#waiting += chunk.length;
      this.#throttle();
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== null || this.#queue.length === 0) return;
    const first = this.#queue[0] as { at: number };
    this.#timer = setTimeout(() => this.#drain(), Math.max(0, first.at - Date.now()));
  }

  #drain(): void {
    this.#timer = null;
    const now = Date.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { at: number }).at <= now) {
      const { chunk } = this.#queue.shift() as { at: number; chunk: Buffer };
      if (chunk === END) {
        this.dest.end();
        continue;
      }
      this.#waiting -= chunk.length;
      if (!this.dest.destroyed) this.dest.write(chunk);
    }
    this.#throttle();
    this.#arm();
  }

  /**
   * Bytes held here plus bytes the destination has not taken yet: over the budget, pause the
   * source; resume once under half of it (checked again when the destination drains).
   */
  #throttle(): void {
    const held = this.#waiting + this.dest.writableLength;
    if (held > waitingBytesMax && !this.source.isPaused()) this.source.pause();
    else if (held <= waitingBytesMax / 2 && this.source.isPaused()) this.source.resume();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#queue = [];
  }
}

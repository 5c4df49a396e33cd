/**
 * The client API's budget of request-body bytes in flight across every connection
 * (nodeLimits.apiBodyBytesInFlightMax): a request reserves its body before it is read (its whole
 * Content-Length, or a chunked body as it arrives) and gives it back once its answer is sent or
 * its connection is gone, however the request ended. A request that does not fit is answered 503
 * OVERLOADED, so bodies held open by many connections cannot take a node's memory. Large bodies
 * may not take the last part of the budget, kept for small ones: ordinary writes go on beside them.
 */
import { Transform, type Readable } from 'node:stream';

/** The code of the error a chunked body that passes the budget fails with (http-api.ts maps it to OVERLOADED). */
export const bodyBudgetErrorCode = 'TERN_BODY_BUDGET';

/** One request's share of the budget. */
export interface BodyHold {
  /** Bytes reserved and not yet given back. */
  readonly bytes: number;
  /** True once given back: later bytes of the body (read after the answer) are not counted. */
  readonly released: boolean;
}

interface MutableHold {
  bytes: number;
  released: boolean;
}

export interface BodyBudgetLimits {
  /** Bytes of bodies in flight at most (nodeLimits.apiBodyBytesInFlightMax). */
  readonly max: number;
  /** The last bytes of `max`, kept for bodies of at most `smallBytesMax` (nodeLimits.apiBodyBytesKeptForSmallMin). */
  readonly keptForSmall: number;
  /** nodeLimits.apiSmallBodyBytesMax. */
  readonly smallBytesMax: number;
}

export class BodyBudget {
  #held = 0;
  readonly max: number;
  readonly #keptForSmall: number;
  readonly #smallBytesMax: number;

  constructor(limits: BodyBudgetLimits) {
    this.max = limits.max;
    this.#keptForSmall = Math.min(limits.keptForSmall, limits.max);
    this.#smallBytesMax = limits.smallBytesMax;
  }

  /** True when a request whose body will have reached `total` bytes may take `more` now. */
  #fits(total: number, more: number): boolean {
    const cap = total > this.#smallBytesMax ? this.max - this.#keptForSmall : this.max;
    return this.#held + more <= cap;
  }

  /** Bytes reserved now, across every request. */
  get held(): number {
    return this.#held;
  }

  /** Reserves `bytes` for a new request; null when that would pass the budget (nothing reserved). */
  open(bytes: number): BodyHold | null {
    if (bytes > 0 && !this.#fits(bytes, bytes)) return null;
    this.#held += bytes;
    return { bytes, released: false } satisfies MutableHold;
  }

  /** Adds `bytes` to a request's reservation; false when that would pass the budget (nothing added). */
  grow(hold: BodyHold, bytes: number): boolean {
    const h = hold as MutableHold;
    if (h.released) return true;
    if (!this.#fits(h.bytes + bytes, bytes)) return false;
    this.#held += bytes;
    h.bytes += bytes;
    return true;
  }

  /** Gives a request's reservation back (once; later calls do nothing). */
  release(hold: BodyHold): void {
    const h = hold as MutableHold;
    if (h.released) return;
    this.#held -= h.bytes;
    h.bytes = 0;
    h.released = true;
  }

  /**
   * `payload` counted against the budget as it is read, for a body without a Content-Length: past
   * the budget the stream fails with bodyBudgetErrorCode, and the rest of the body is read and
   * discarded (never held) so the answer can still be sent on the connection.
   */
  counted(payload: Readable, hold: BodyHold): Transform {
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        if (this.grow(hold, chunk.length)) return done(null, chunk);
        done(Object.assign(new Error(`the request bodies in flight would exceed ${this.max} bytes`), { code: bodyBudgetErrorCode, statusCode: 503 }));
      },
    });
    counted.once('error', () => {
      payload.unpipe(counted);
      payload.resume();
    });
    payload.pipe(counted);
    return counted;
  }
}

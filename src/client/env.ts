/** What the SDK takes from its platform, each replaceable for tests: fetch, a clock, timers and randomness. */

export interface ClientTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientEnv {
  readonly fetch: typeof fetch;
  /** The client's clock, in ms (wall time: Retry-After dates are compared with it). */
  readonly now: () => number;
  readonly timers: ClientTimers;
  /** In [0, 1): the jitter of backoffs. */
  readonly random: () => number;
}

export const platformTimers: ClientTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A timer that does not keep the process alive (Node; a browser's timers have no such notion). */
export function unrefTimer(timers: ClientTimers, fn: () => void, ms: number): unknown {
  const handle = timers.setTimeout(fn, ms);
  if (typeof handle === 'object' && handle !== null && typeof (handle as { unref?: unknown }).unref === 'function') (handle as { unref: () => void }).unref();
  return handle;
}

/** Waits `ms` (a call's own wait: kept referenced, the caller is awaiting it). */
export function sleep(timers: ClientTimers, ms: number): Promise<void> {
  return new Promise((resolve) => {
    timers.setTimeout(resolve, Math.max(0, ms));
  });
}

/**
 * What a drill measured, computed from the record of every request it sent (pure, so it is tested
 * on made-up records): the RTO (from the fault until the success rate is back at 99 % over 1 s
 * windows and stays there), errors by code, and the RPO (acknowledged writes missing after
 * recovery and convergence).
 */

export type Kind = 'async' | 'strong';

/** One request of the drill's load, as the client saw it. */
export interface Sent {
  readonly kind: Kind;
  /** When it was sent, ms since the drill started. */
  readonly atMs: number;
  /** When its answer (or failure) came. */
  readonly doneMs: number;
  /** HTTP status, or 0 when no answer came (connection error, timeout). */
  readonly status: number;
  /** The error code of a failed answer (`UNREACHABLE` without an answer). */
  readonly code: string | null;
}

const windowMs = 1_000;
const targetRate = 0.99;

/**
 * Ms from `faultMs` to the end of the last 1 s window (windows start at the fault) whose success
 * rate was below 99 %; 0 when no window after the fault fell below it. Null when the load never
 * recovered: the last window with requests is still below 99 %.
 */
export function rtoMs(sent: readonly Sent[], kind: Kind, faultMs: number): number | null {
  const windows = new Map<number, { ok: number; all: number }>();
  let lastWindow = -1;
  for (const s of sent) {
    if (s.kind !== kind || s.atMs < faultMs) continue;
    const w = Math.floor((s.atMs - faultMs) / windowMs);
    const c = windows.get(w) ?? { ok: 0, all: 0 };
    c.all++;
    if (s.status >= 200 && s.status < 300) c.ok++;
    windows.set(w, c);
    lastWindow = Math.max(lastWindow, w);
  }
  let lastBad = -1;
  for (const [w, c] of windows) if (c.ok / c.all < targetRate) lastBad = Math.max(lastBad, w);
  if (lastBad === -1) return 0;
  if (lastBad === lastWindow) return null;
  return (lastBad + 1) * windowMs;
}

/**
 * The longest time after the fault during which no request of `kind` was acknowledged: from the
 * fault (or an acknowledgement) to the next acknowledgement. Requests that wait out a leader
 * election succeed late; this is what their clients waited.
 */
export function longestGapMs(sent: readonly Sent[], kind: Kind, faultMs: number, endMs: number): number {
  const acks = sent.filter((s) => s.kind === kind && s.status >= 200 && s.status < 300 && s.doneMs >= faultMs).map((s) => s.doneMs).sort((a, b) => a - b);
  let prev = faultMs;
  let gap = 0;
  for (const t of [...acks, endMs]) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.round(gap);
}

/** Failed requests by code, most frequent first. */
export function errorsByCode(sent: readonly Sent[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const s of sent) if (s.status < 200 || s.status >= 300) counts.set(s.code ?? `HTTP_${s.status}`, (counts.get(s.code ?? `HTTP_${s.status}`) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Time spent in each stage, from timed observations of a region's /readyz (the last one counts until `endMs`). */
export function stageTimes(seen: ReadonlyArray<{ readonly atMs: number; readonly stage: string }>, endMs: number): Array<[string, number]> {
  const out = new Map<string, number>();
  for (let i = 0; i < seen.length; i++) {
    const s = seen[i] as { atMs: number; stage: string };
    const until = (seen[i + 1]?.atMs ?? endMs) - s.atMs;
    out.set(s.stage, (out.get(s.stage) ?? 0) + Math.max(0, until));
  }
  return [...out];
}

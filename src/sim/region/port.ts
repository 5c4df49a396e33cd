/**
 * What the simulated clients see of the region world: a lossy client link to any region, timers,
 * the network's cuts (a client whose region is cut off retries elsewhere) and the run's phase.
 */
import type { RegionReply, RegionRequest } from '../../core/node/messages.js';

export type Phase = 'faults' | 'heal' | 'final';

export interface ClientPort {
  readonly names: readonly string[];
  now(): number;
  phase(): Phase;
  /** Sends `request` to node `node`; `answer` gets the reply if one comes back. Returns the request id. */
  call(node: number, request: RegionRequest, answer: (reply: RegionReply) => void): number;
  /** The client stopped waiting for `reqId` (a late answer is dropped). */
  forget(reqId: number): void;
  later(delayMs: number, fn: () => void): void;
  isCut(a: number, b: number): boolean;
}

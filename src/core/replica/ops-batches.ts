/**
 * The one place where ops are cut into replication messages (issue 20, "ops batches split once").
 *
 * Decision: the core owns the split and the transport never splits. A message holds at most
 * `opsMax` ops and `bytesMax` approximate bytes (approxOpBytes); an op larger than the byte budget
 * goes alone. The budget fits the transport's frames: 4 MiB approximate (limits.opsBytesPerMessageMax)
 * encodes to at most about 12.5 MiB even when every character takes three bytes in UTF-8 and every
 * op carries a full vector, below the 16 MiB (half of nodeLimits.sendQueueBytesMax, under
 * nodeLimits.frameBytesMax) at which the transport used to cut messages again
 * (test/server/transport/ops-frames.test.ts builds those worst cases). So the shell sends each
 * message as one frame, and a frame a peer could not take it refuses and logs
 * (src/server/transport/peer-transport.ts) instead of cutting it. Messages are the `{t: 'ops', ops}`
 * a peer of the previous version reads, cut where they always were in practice: only the
 * transport's second cut, which the limits never reached, is gone. A larger budget must keep the
 * worst case below the frame limit (that test fails first).
 */
import { limits } from '../limits.js';
import { approxOpBytes, type Op } from '../model/op.js';

export interface OpsBudget {
  /** Ops in one message at most. */
  readonly opsMax: number;
  /** Approximate bytes of ops in one message at most (approxOpBytes); a larger op goes alone. */
  readonly bytesMax: number;
}

/** The budget of every replication message (limits.ts says why each value). */
const opsMessageBudget: OpsBudget = { opsMax: limits.opsPerMessageMax, bytesMax: limits.opsBytesPerMessageMax };

/** One message being filled, op by op, within a budget. */
export class OpsMessage {
  readonly ops: Op[] = [];
  bytes = 0;
  readonly #budget: OpsBudget;

  constructor(budget: OpsBudget = opsMessageBudget) {
    this.#budget = budget;
  }

  /** Ops that may still be added, by count. */
  get room(): number {
    return Math.max(0, this.#budget.opsMax - this.ops.length);
  }

  /** Nothing more can be added. */
  get full(): boolean {
    return this.room === 0 || this.bytes >= this.#budget.bytesMax;
  }

  /** Whether an op of `size` approximate bytes fits: an empty message takes any one op. */
  fits(size: number): boolean {
    return this.ops.length === 0 || (this.ops.length < this.#budget.opsMax && this.bytes + size <= this.#budget.bytesMax);
  }

  add(op: Op, size: number = approxOpBytes(op)): void {
    this.ops.push(op);
    this.bytes += size;
  }
}

/** Cuts `ops`, in order, into messages within `budget` (each as full as the next op allows). */
export function splitOps(ops: readonly Op[], budget: OpsBudget = opsMessageBudget): Op[][] {
  const out: Op[][] = [];
  let message = new OpsMessage(budget);
  for (const op of ops) {
    const size = approxOpBytes(op);
    if (!message.fits(size)) {
      out.push(message.ops);
      message = new OpsMessage(budget);
    }
    message.add(op, size);
  }
  if (message.ops.length > 0) out.push(message.ops);
  return out;
}

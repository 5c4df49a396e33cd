/**
 * Test only: `TERN_TEST_NODE_LIMITS='{"apiBodyBytesInFlightMax": 33554432}'` overrides entries of
 * nodeLimits (limits.ts) in a `terndb node` process, so process tests reach a bound with small
 * values. Not a configuration: an unknown name, or a value that is not a positive integer, stops
 * the node at start; a node started with overrides says so in its log.
 */
import { nodeLimits, type NodeLimits } from './limits.js';

export const testLimitsEnv = 'TERN_TEST_NODE_LIMITS';

/**
 * The limits a node reads from its merged table (node-server.ts, region-node.ts); the others are
 * read from the module's constant where they are used, so an override of them would be accepted
 * and do nothing: refused instead.
 */
const overridable: ReadonlySet<string> = new Set(['requestsWaitingMax', 'peerInputsQueuedMax', 'apiConnectionsMax', 'apiBodyBytesInFlightMax', 'apiBodyBytesKeptForSmallMin']);

export function testLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<NodeLimits> {
  const text = env[testLimitsEnv];
  if (text === undefined || text === '') return {};
  const shape = `${testLimitsEnv}: must be a JSON object of node limit names (src/server/limits.ts) to positive integers`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(shape);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(shape);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!Object.hasOwn(nodeLimits, k)) throw new Error(`${testLimitsEnv}: ${k} is not a node limit (src/server/limits.ts)`);
    if (!overridable.has(k)) throw new Error(`${testLimitsEnv}: ${k} cannot be overridden (only ${[...overridable].join(', ')})`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`${testLimitsEnv}: ${k} must be a positive integer`);
    out[k] = v;
  }
  return out as Partial<NodeLimits>;
}

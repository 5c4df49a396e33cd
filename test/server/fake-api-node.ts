/** A node for HTTP tests without a cluster: no tables, and every call answered with `error`. */
import type { TernError } from '../../src/core/errors.js';
import type { CallReply } from '../../src/core/node/client-call.js';
import type { ApiNode } from '../../src/server/http-api.js';
import type { NodeMetrics } from '../../src/server/metrics.js';

export function fakeApiNode(error: TernError): ApiNode {
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  return {
    cluster: 'test',
    region: 'us-east',
    nodeId: 'us-east-1',
    regions: ['us-east'],
    mergeFunctions: [],
    submit: async (): Promise<CallReply<never>> => ({ ok: false, error }),
    authenticate: async () => ({ ok: true, value: undefined }),
    isNode: () => false,
    knownUser: () => null,
    authRequired: false,
    readiness: unused,
    backup: unused,
    snapshots: null,
    tables: () => ({}),
    metrics: { observeRequest: () => undefined } as unknown as NodeMetrics,
  };
}

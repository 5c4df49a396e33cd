/**
 * How a node proves to another node's API that it is a node of the cluster, for the routes nodes
 * call on each other (a rejoining region fetching a snapshot) once the cluster requires
 * authentication: a `Tern-Node-Auth` header every node derives from the configuration (an HMAC
 * keyed by the root credential's hash). It is as secret as the configuration file, which nodes
 * hold and clients do not; a node certificate on the API (mutual TLS) is the stronger proof to come.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ClusterConfig } from '../config.js';

export const nodeAuthHeader = 'tern-node-auth';

/** The header's value for this cluster, or null when authentication is off. */
export function nodeSecret(config: ClusterConfig): string | null {
  if (config.auth === null) return null;
  return createHmac('sha256', Buffer.from(config.auth.root.hash, 'base64url')).update(`tern node ${config.cluster}`).digest('base64url');
}

/** Whether `sent` is this cluster's node secret (in constant time). */
export function isNodeSecret(sent: string | undefined, expected: string | null): boolean {
  if (sent === undefined || expected === null) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

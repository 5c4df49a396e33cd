/**
 * A snapshot of a region node for a rejoin (docs/internals/replication.md, "Bounded history"): a
 * consistent copy of the donor's whole database, served in fixed-size chunks, each with its own
 * SHA-256 (a bad chunk is fetched again, not the whole copy), and the whole file's.
 */
import type { VersionVector } from '../../core/clock/version-vector.js';
import { nodeLimits } from '../limits.js';

export interface SnapshotManifest {
  readonly format: 'terndb-snapshot';
  readonly version: 1;
  /** The donor's name for this copy: chunks are fetched by it, and a resumed fetch asks for it again. */
  readonly id: string;
  readonly cluster: string;
  readonly region: string;
  readonly node: string;
  readonly createdAt: string;
  /** The async ops the copy holds, per origin (the copy's applied vector). */
  readonly vector: VersionVector;
  readonly bytes: number;
  readonly chunkBytes: number;
  /** SHA-256 of each chunk, in order. */
  readonly chunks: readonly string[];
  readonly sha256: string;
}

/** Bytes per chunk (nodeLimits.snapshotChunkBytes). */
export const snapshotChunkBytes = nodeLimits.snapshotChunkBytes;

/** Why `m` is not a manifest this build can use (null: it is). */
export function manifestProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'not an object';
  const o = m as Record<string, unknown>;
  if (o['format'] !== 'terndb-snapshot' || o['version'] !== 1) return `format ${String(o['format'])} version ${String(o['version'])}: not a terndb-snapshot version 1`;
  for (const k of ['id', 'cluster', 'region', 'node', 'createdAt', 'sha256']) if (typeof o[k] !== 'string') return `${k} must be a string`;
  const int = (k: string) => typeof o[k] === 'number' && Number.isSafeInteger(o[k]) && (o[k] as number) >= 0;
  if (!int('bytes') || !int('chunkBytes') || (o['chunkBytes'] as number) < 1) return 'bytes and chunkBytes must be non-negative integers';
  const chunks = o['chunks'];
  if (!Array.isArray(chunks) || chunks.some((c) => typeof c !== 'string')) return 'chunks must be a list of SHA-256 digests';
  if (chunks.length !== Math.ceil((o['bytes'] as number) / (o['chunkBytes'] as number))) return 'chunks does not cover bytes';
  const v = o['vector'];
  if (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'number')) return 'vector must map regions to integers';
  return null;
}

/**
 * Memory per row of a large table (`bench node`, the last rows): one child process writes
 * 1,000,000 distinct rows (a name and a visit count each) either through a replica on SQLite, as
 * remote ops in steps of 512 with stability advancing (so collection trims logs and windows as in
 * production), or straight into raw better-sqlite3 holding the same values. Each reports its
 * resident memory and its bytes on disk when done. Run as `node row-memory.js replica|raw DIR N`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { replicaDefaults } from '../core/replica/config.js';
import type { Op } from '../core/model/op.js';
import { Replica } from '../core/replica/replica.js';
import { validatePolicy } from '../core/schema/policy.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';

export interface RowMemory {
  readonly rows: number;
  /** Resident set size at the end, and at the start (before any row), MB. */
  readonly rssMb: number;
  readonly baseRssMb: number;
  /** The database's files (main, WAL), bytes. */
  readonly diskBytes: number;
  readonly seconds: number;
}

const batch = 512;

function op(seq: number): Op {
  return {
    dot: { origin: 'us-east', seq },
    hlc: { wall: 1_700_000_000_000 + Math.floor(seq / 100), logical: seq % 100, node: 'us-east' },
    deps: { 'us-east': seq - 1 },
    table: 'profiles',
    key: `user:${seq}`,
    kind: 'write',
    changes: { name: { k: 'set', value: `name-${seq}` }, visits: { k: 'incr', delta: 1 } },
  };
}

function diskBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

function viaReplica(dir: string, rows: number): void {
  const policy = validatePolicy({ fields: { name: 'lww', visits: 'counter' } }, { regions: ['us-east', 'eu-west'] });
  if (!policy.ok) throw new Error(policy.error.message);
  const storage = new SqliteStorage(path.join(dir, 'replica.sqlite'));
  const replica = Replica.open({ ...replicaDefaults, region: 'eu-west', regions: ['us-east', 'eu-west'], tables: { profiles: policy.value }, mergeFunctions: {} }, storage, 1_700_000_000_000);
  for (let from = 1; from <= rows; from += batch) {
    const ops: Op[] = [];
    for (let seq = from; seq < Math.min(from + batch, rows + 1); seq++) ops.push(op(seq));
    replica.step(
      [
        { kind: 'peer', from: 'us-east', message: { t: 'ops', ops } },
        { kind: 'peer', from: 'us-east', message: { t: 'sync', vector: { 'us-east': from - 1 }, reports: {}, beats: {} } },
        { kind: 'tick' },
      ],
      1_700_000_000_000 + Math.floor(from / 100),
    );
  }
  // The last ops become stable too, so their windows and log entries are collected.
  for (let i = 0; i < 4; i++) replica.step([{ kind: 'peer', from: 'us-east', message: { t: 'sync', vector: { 'us-east': rows }, reports: {}, beats: {} } }, { kind: 'tick' }], 1_700_000_000_000 + rows);
  storage.close();
}

function viaRaw(dir: string, rows: number): void {
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE profiles (key TEXT PRIMARY KEY, name TEXT NOT NULL, visits INTEGER NOT NULL) WITHOUT ROWID');
  const put = db.prepare('INSERT INTO profiles (key, name, visits) VALUES (?, ?, ?)');
  const write = db.transaction((from: number, to: number) => {
    for (let seq = from; seq < to; seq++) put.run(`user:${seq}`, `name-${seq}`, 1);
  });
  for (let from = 1; from <= rows; from += batch) write(from, Math.min(from + batch, rows + 1));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Runs one side in a fresh process, so neither's memory is counted in the other's. */
export function measureRowMemory(kind: 'replica' | 'raw', dir: string, rows: number): RowMemory {
  const worker = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [worker, kind, dir, String(rows)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`row-memory ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as RowMemory;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kind, dir, n] = process.argv.slice(2);
  const rows = Number(n);
  const baseRssMb = process.memoryUsage().rss / 1e6;
  const t0 = performance.now();
  if (kind === 'replica') viaReplica(dir as string, rows);
  else viaRaw(dir as string, rows);
  const result: RowMemory = { rows, rssMb: process.memoryUsage().rss / 1e6, baseRssMb, diskBytes: diskBytes(dir as string), seconds: (performance.now() - t0) / 1000 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

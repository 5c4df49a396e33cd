/**
 * The demo's --data directory: whether it holds node data from an earlier run, and --fresh, which
 * removes only what the demo itself puts there (each region's SQLite files and then its folder if
 * that leaves it empty, the logs, cluster.yaml). --data may be a directory the user also keeps
 * other things in (`--data .`), so nothing is removed by pattern or recursively.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRegionId } from '../../core/clock/version-vector.js';

/** What a node writes into its data folder (src/server/region-node.ts, SQLite in WAL mode). */
const nodeFiles = ['tern.sqlite', 'tern.sqlite-wal', 'tern.sqlite-shm', 'tern.sqlite-journal'];

/** The regions whose node data is in `dir` (each `<dir>/<region>/tern.sqlite`). */
export function regionsWithData(dir: string, regions: readonly string[]): string[] {
  return regions.filter((r) => existsSync(path.join(dir, r, 'tern.sqlite')));
}

/** The region names of an earlier demo's cluster.yaml in `dir` (none when absent or unreadable). */
function earlierRegions(dir: string): string[] {
  try {
    const parsed = parseYaml(readFileSync(path.join(dir, 'cluster.yaml'), 'utf8')) as { regions?: Array<{ name?: unknown }> };
    // Only valid region ids: a name becomes a path below, and `..` must never be one.
    return (parsed.regions ?? []).map((r) => r.name).filter((n): n is string => isRegionId(n));
  } catch {
    return [];
  }
}

/**
 * Removes the demo's own files from `dir` for `regions` and for the regions of the cluster.yaml
 * found there. Returns what it removed and what it left (a region folder holding other files), as
 * paths relative to `dir`.
 */
export function removeDemoFiles(dir: string, regions: readonly string[]): { removed: string[]; kept: string[] } {
  const removed: string[] = [];
  const kept: string[] = [];
  const remove = (rel: string) => {
    const p = path.join(dir, rel);
    if (!existsSync(p)) return;
    rmSync(p, { force: true });
    removed.push(rel);
  };
  for (const region of new Set([...regions, ...earlierRegions(dir)])) {
    for (const f of nodeFiles) remove(path.join(region, f));
    remove(`${region}.log`);
    const folder = path.join(dir, region);
    if (!existsSync(folder)) continue;
    if (readdirSync(folder).length === 0) {
      rmdirSync(folder);
      removed.push(`${region}/`);
    } else kept.push(`${region}/`);
  }
  remove('wan.log');
  remove('router.log');
  remove('cluster.yaml');
  return { removed, kept };
}

/**
 * `terndb restore --in FILE | --from URL --config FILE --node NAME`: puts a backup onto the empty
 * data directory of a region whose machine was lost, ready for `terndb node`. The backup may be
 * this region's own or, best, a fresh one of a healthy region (`--from`): rows, logs, the conflict
 * feed and the strong log are the same in every region. The restored node writes nothing until
 * its peers gave back every write of its own they hold, and it rejoins the strong group as a
 * learner (docs/operations.md, "Replacing a lost machine").
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { markRestored } from '../core/node/restore.js';
import { ConfigError, loadConfig, type ClusterConfig, type RegionSpec } from '../server/config.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { runBackup } from './backup-command.js';
import { accessOptions, accessOrSay, accessUsageExit, type AccessFlags, type ApiAccess } from './api-access.js';
import { digestFrom } from '../server/backup.js';
import { readManifest } from './backup-file.js';

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies `bytes` from `file` at `offset` to `dest`, durably. */
async function extract(file: string, offset: number, dest: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
    out.once('error', reject);
    out.once('finish', () => resolve());
    createReadStream(file, { start: offset }).once('error', reject).pipe(out);
  });
  await fsyncPath(dest);
}

export interface RestoreFlags extends AccessFlags {
  in?: string;
  from?: string;
  config: string;
  node: string;
}

/** `env` supplies TERN_TOKEN when --from is given without --token-file. */
export async function runRestore(flags: RestoreFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const say = (m: string) => process.stderr.write(`terndb restore: ${m}\n`);
  if ((flags.in === undefined) === (flags.from === undefined)) {
    say('give exactly one of --in FILE (a backup file) or --from URL (a healthy region to copy now)');
    return 2;
  }
  // Checked before anything is made on disk: a bad --cacert or token must not leave a data directory behind.
  let access: ApiAccess | null = null;
  if (flags.from !== undefined) {
    access = accessOrSay(flags, say, env);
    if (access === null) return accessUsageExit;
  } else if (flags.cacert !== undefined || flags.tokenFile !== undefined) {
    say('--cacert and --token-file go with --from (they say how to reach the node to copy); --in reads a file');
    return 2;
  }
  let config: ClusterConfig;
  let spec: RegionSpec | undefined;
  try {
    config = loadConfig(flags.config);
    spec = config.regions.find((r) => r.name === flags.node || r.node.id === flags.node);
  } catch (err) {
    say(err instanceof ConfigError ? err.message : (err as Error).message);
    return 2;
  }
  if (spec === undefined) {
    say(`no region or node named ${flags.node} in ${flags.config} (regions: ${config.regions.map((r) => r.name).join(', ')})`);
    return 2;
  }
  const data = spec.node.data;
  const db = path.join(data, 'tern.sqlite');
  if (existsSync(db)) {
    say(`${data} already holds a database. A restore goes onto an empty data directory: stop ${spec.name}'s node if it runs, move ${data} aside (keep it until the restored region is write-ready), and run this again`);
    return 2;
  }
  mkdirSync(data, { recursive: true });
  let file = flags.in as string;
  let downloaded = false;
  if (flags.from !== undefined) {
    file = path.join(data, `.restore-${Date.now()}.ternbackup`);
    const code = await runBackup(flags.from, file, access ?? undefined);
    if (code !== 0) return code;
    downloaded = true;
  }
  try {
    const { manifest, offset } = await readManifest(file);
    if (manifest.cluster !== config.cluster) {
      say(`${file} is a backup of cluster ${manifest.cluster}; ${flags.config} configures cluster ${config.cluster}`);
      return 2;
    }
    if (!config.regions.some((r) => r.name === manifest.region)) {
      say(`${file} is a backup of region ${manifest.region}, which ${flags.config} does not have`);
      return 2;
    }
    if (!downloaded) process.stderr.write(`terndb restore: checking ${file} (${manifest.region}, as of ${manifest.createdAt})…\n`);
    // A copy fetched just now was checked as it arrived (runBackup); a file is checked here.
    const sha256 = downloaded ? manifest.sha256 : await digestFrom(file, offset);
    if (sha256 !== manifest.sha256) {
      say(`${file} is corrupt: its database does not match the manifest's SHA-256 (${sha256.slice(0, 12)}… instead of ${manifest.sha256.slice(0, 12)}…); take a new backup`);
      return 1;
    }
    // Built under another name and renamed into place: a crash leaves no tern.sqlite or a whole one.
    const work = path.join(data, 'tern.sqlite.restoring');
    await rm(work, { force: true });
    await extract(file, offset, work);
    const storage = new SqliteStorage(work);
    try {
      markRestored(storage, { from: manifest.region, copiedAt: manifest.createdAt });
    } finally {
      storage.close();
    }
    for (const side of ['-wal', '-shm']) {
      const s = await stat(`${work}${side}`).catch(() => null);
      if (s !== null && s.size > 0 && side === '-wal') throw new Error(`${work}-wal was left behind by SQLite; nothing was renamed into place`);
      await rm(`${work}${side}`, { force: true });
    }
    await rename(work, db);
    await fsyncPath(data);
    const source = manifest.region === spec.name ? `its own backup` : `a copy of ${manifest.region}`;
    // A secure cluster's status wants its CA and a token too.
    const statusAccess = `${config.tls !== null ? ` --cacert ${flags.cacert ?? config.tls.ca}` : ''}${config.auth !== null ? ` --token-file ${flags.tokenFile ?? 'FILE'}` : ''}`;
    process.stdout.write(
      `Restored ${spec.name} from ${source} as of ${manifest.createdAt} into ${data}.\n` +
        `Start it: terndb node --config ${flags.config} --node ${spec.name}\n` +
        `It stays catching-up (restore) until every other region has been heard and has given back the writes of ${spec.name} it holds, then passes through the usual stages (terndb status --url ${spec.node.api.host}:${spec.node.api.port}${statusAccess}).\n`,
    );
    return 0;
  } catch (err) {
    say((err as Error).message);
    return 1;
  } finally {
    if (downloaded) await unlink(file).catch(() => undefined);
  }
}

export function restoreCommand(): Command {
  return accessOptions(
    new Command('restore')
      .description("put a backup onto a lost region's empty data directory, ready for terndb node")
      .option('--in <file>', 'a backup file written by terndb backup')
      .option('--from <url>', 'copy a healthy region now (a URL or host:port of its node: http://, or https:// with --cacert) instead of reading a file')
      .requiredOption('--config <file>', 'the cluster configuration (the same file every machine has)')
      .requiredOption('--node <name>', 'the region (or node id) to restore'),
    'with --from: ',
  )
    .addHelpText(
      'after',
      '\nThe data directory must hold no database. A backup of any region of the cluster will do; a fresh\n' +
        "one of a healthy region (--from) is best: a backup older than what the peers still keep in their\n" +
        "logs cannot catch up (the node's status then says so). The restored node takes no writes until every\n" +
        'other region has been heard, and rejoins the strong group as a learner. On a secure cluster,\n' +
        "--from needs the cluster CA (--cacert: the nodes serve HTTPS) and a cluster admin's token\n" +
        '(--token-file, or TERN_TOKEN).\n\nExamples:\n' +
        '  terndb restore --from eu-west-host:7002 --config cluster.yaml --node us-east\n' +
        '  terndb restore --from 10.0.2.10:7001 --cacert certs/ca.crt --token-file secrets/root/root.token --config cluster.yaml --node us-east\n' +
        '  terndb restore --in us-east.ternbackup --config cluster.yaml --node us-east\n\n' +
        'Exit codes: 0 restored, 1 the backup is corrupt or could not be read or fetched, 2 bad usage or a data directory in use.',
    )
    .action(async (flags: RestoreFlags) => {
      process.exitCode = await runRestore(flags);
    });
}

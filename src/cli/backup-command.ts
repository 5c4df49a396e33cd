/**
 * `terndb backup --url URL --out FILE`: a consistent copy of a live region node's database,
 * streamed to FILE with its manifest, checked against the node's SHA-256 before it is kept.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command } from 'commander';
import { isManifest } from './backup-file.js';
import { accessOptions, accessOrSay, accessUsageExit, plainAccess, refusal, unreachable, type AccessFlags, type ApiAccess } from './api-access.js';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Progress on stderr: a line redrawn in a terminal, a line per quarter otherwise. */
function progress(total: number): (done: number) => void {
  let shown = -1;
  return (done) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (process.stderr.isTTY) {
      if (pct !== shown) process.stderr.write(`\r  ${mib(done)} of ${mib(total)} (${pct}%)`);
      if (done === total) process.stderr.write('\n');
    } else if (Math.floor(pct / 25) !== Math.floor(shown / 25)) process.stderr.write(`  ${mib(done)} of ${mib(total)} (${pct}%)\n`);
    shown = pct;
  };
}

/**
 * Copies the node at `url` into `out`; the exit code. `access` says which CA to trust and which
 * token to send (resolveAccess; restore --from passes its own).
 */
export async function runBackup(url: string, out: string, access: ApiAccess = plainAccess): Promise<number> {
  if (existsSync(out)) {
    process.stderr.write(`terndb backup: ${out} exists; choose another --out or move it away\n`);
    return 2;
  }
  process.stderr.write(`terndb backup: asking ${url} for a consistent copy of its database…\n`);
  let res: Response;
  try {
    res = await access.fetch(new URL('/v1/admin/backup', access.url(url)));
  } catch (err) {
    process.stderr.write(`terndb backup: ${unreachable(err, url, access)}\n`);
    return 1;
  }
  if (!res.ok || res.body === null) {
    process.stderr.write(`terndb backup: ${await refusal(res, access)}\n`);
    return 1;
  }
  let manifest: unknown = null;
  try {
    manifest = JSON.parse(res.headers.get('tern-backup') ?? 'null');
  } catch {
    // said below
  }
  if (!isManifest(manifest)) {
    process.stderr.write(`terndb backup: ${url} answered without a valid Tern-Backup manifest; is it a terndb node of this version?\n`);
    return 1;
  }
  const m = manifest;
  process.stderr.write(`terndb backup: ${m.region} (${m.node}, cluster ${m.cluster}) as of ${m.createdAt}, ${mib(m.bytes)}\n`);
  const part = `${out}.part`;
  const file = createWriteStream(part, { flags: 'wx', mode: 0o600 });
  const hash = createHash('sha256');
  const show = progress(m.bytes);
  let bytes = 0;
  try {
    file.write(`${JSON.stringify(m)}\n`);
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream)) {
      const b = chunk as Buffer;
      hash.update(b);
      bytes += b.length;
      if (!file.write(b)) await new Promise<void>((r) => file.once('drain', () => r()));
      show(bytes);
    }
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const sha256 = hash.digest('hex');
    if (bytes !== m.bytes || sha256 !== m.sha256) throw new Error(`the copy does not match the node's checksum (${bytes} of ${m.bytes} bytes, sha256 ${sha256.slice(0, 12)}… instead of ${m.sha256.slice(0, 12)}…): the transfer was cut or corrupted; run the backup again`);
    // Durable before it gets its name: a crash leaves FILE.part or a whole FILE, never half a FILE.
    const fh = await open(part, 'r+');
    await fh.sync();
    await fh.close();
    await rename(part, out);
  } catch (err) {
    file.destroy();
    await unlink(part).catch(() => undefined);
    process.stderr.write(`\nterndb backup: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${out}: backup of ${m.region} (cluster ${m.cluster}) as of ${m.createdAt}, ${mib(m.bytes)}, sha256 ${m.sha256}\n`);
  return 0;
}

export function backupCommand(): Command {
  return accessOptions(
    new Command('backup')
      .description("copy a live region node's database (a consistent cut) into a backup file")
      .option('--url <url>', 'the region node API: a URL or host:port (http://, or https:// with --cacert)', '127.0.0.1:7001')
      .requiredOption('--out <file>', 'the backup file to write (must not exist)'),
  )
    .addHelpText(
      'after',
      "\nThe node copies its database while it keeps serving (the copy is the database as of the moment it\nfinishes), then streams it; the file is kept only if its SHA-256 matches the node's.\n\n" +
        "A secure cluster's nodes serve HTTPS with certificates of the cluster's own CA: give it with --cacert\n" +
        "(then a bare host:port means https://), and a cluster admin's token (the root token is one) with\n" +
        '--token-file or in TERN_TOKEN.\n\n' +
        'Examples:\n' +
        '  terndb backup --url localhost:7001 --out us-east.ternbackup\n' +
        '  terndb backup --url 10.0.2.10:7001 --cacert certs/ca.crt --token-file secrets/root/root.token --out eu-west.ternbackup\n\n' +
        'Exit codes: 0 written, 1 the node refused or could not be reached or the copy did not check out, 2 bad usage (such as an unreadable --cacert or --token-file).',
    )
    .action(async (flags: AccessFlags & { url: string; out: string }) => {
      const access = accessOrSay(flags, (m) => void process.stderr.write(`terndb backup: ${m}\n`));
      if (access === null) {
        process.exitCode = accessUsageExit;
        return;
      }
      process.exitCode = await runBackup(flags.url, flags.out, access);
    });
}

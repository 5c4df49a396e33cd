/**
 * Certificate files on disk, for `terndb cert`: a private key is created with mode 0600 (never
 * written first and restricted after, which would leave a moment when others could read it), a
 * certificate with 0644; existing files are replaced only when asked.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CertAndKey } from './certs.js';
import { CertInputError } from './names.js';

export const keyMode = 0o600;
export const certMode = 0o644;

/** The file names of a pair: `<name>.crt` and `<name>.key` in `dir`. */
export function pairPaths(dir: string, name: string): { cert: string; key: string } {
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** Throws (field `out`) if either file of the pair exists and `force` is not set; checked before any key is made. */
export function checkFree(dir: string, name: string, force: boolean): void {
  if (force) return;
  const { cert, key } = pairPaths(dir, name);
  for (const file of [key, cert]) {
    if (existsSync(file)) throw new CertInputError('out', `${file} exists; pass --force to replace it (a replaced key invalidates the certificate it had), or choose another --out`);
  }
}

async function writeNew(file: string, text: string, mode: number, force: boolean): Promise<void> {
  // An existing file would keep its old mode under 'w': remove it and create it afresh with ours.
  if (force) await unlink(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  const fh = await open(file, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `<name>.key` (0600) then `<name>.crt` (0644) into `dir`, creating `dir` (0700: it holds keys) if needed. */
export async function writePair(dir: string, name: string, pair: CertAndKey, force: boolean): Promise<{ cert: string; key: string }> {
  const paths = pairPaths(dir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeNew(paths.key, pair.keyPem, keyMode, force);
  await writeNew(paths.cert, pair.certPem, certMode, force);
  return paths;
}

/** Writes a secret (a token) as `dir/file`, mode 0600 from its creation; an existing one only with `force` (field `out`). */
export async function writeSecret(dir: string, file: string, text: string, force: boolean): Promise<string> {
  const target = path.join(dir, file);
  if (!force && existsSync(target)) throw new CertInputError('out', `${target} exists; pass --force to replace it (the token it holds stops working once the configuration has the new one), or choose another --out`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeNew(target, text, keyMode, force);
  return target;
}

/** Reads `ca.crt` and `ca.key` from `dir` (field `caDir` when they are missing), with a warning when the key is readable by others. */
export async function readCaDir(dir: string): Promise<{ ca: CertAndKey; warning: string | null }> {
  const { cert, key } = pairPaths(dir, 'ca');
  for (const file of [cert, key]) {
    if (!existsSync(file)) throw new CertInputError('caDir', `${file} not found; give the directory \`terndb cert create-ca --out DIR\` wrote`);
  }
  const [certPem, keyPem] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
  const loose = (statSync(key).mode & 0o077) !== 0;
  return { ca: { certPem, keyPem }, warning: loose ? `${key} can be read by other users; restrict it with \`chmod 600 ${key}\`` : null };
}

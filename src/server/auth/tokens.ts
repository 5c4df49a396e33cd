/**
 * Bearer tokens: `<user>.<secret>`, the secret 32 random bytes in base64url. Only a salted scrypt
 * hash of the secret is ever stored (through the strong log, so every region can check a token);
 * the token itself is shown once, to whoever created the user, and never logged.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { badRequest, fail, ok, type Result } from '../../core/errors.js';
import type { Credential } from '../../core/strong/access-table.js';

/** scrypt's cost: N = 2^14 (about 16 MiB and some tens of ms per check; a checked token is cached). */
const scryptOptions = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const hashBytes = 32;
const namePattern = /^[A-Za-z0-9_-]{1,63}$/;
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedToken {
  readonly user: string;
  readonly secret: string;
}

function hashOf(secret: string, salt: string): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, Buffer.from(salt, 'base64url'), hashBytes, scryptOptions, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new token for `user`, and the credential to store for it. */
export async function makeToken(user: string): Promise<{ readonly token: string; readonly credential: Credential }> {
  const token = `${user}.${randomBytes(32).toString('base64url')}`;
  return { token, credential: await secretCredential(token) };
}

/** A credential (under a new salt) for an existing token `<user>.<secret>`. */
export async function secretCredential(token: string): Promise<Credential> {
  const secret = token.slice(token.indexOf('.') + 1);
  const salt = randomBytes(16).toString('base64url');
  return { salt, hash: (await hashOf(secret, salt)).toString('base64url') };
}

/** Whether `secret` is the one `credential` was made from (in constant time). */
export async function secretMatches(secret: string, credential: Credential): Promise<boolean> {
  const expected = Buffer.from(credential.hash, 'base64url');
  const actual = await hashOf(secret, credential.salt);
  // Compared at the same length whatever is stored (a stored hash of another length never matches).
  const padded = Buffer.alloc(actual.length);
  expected.copy(padded, 0, 0, Math.min(expected.length, actual.length));
  return timingSafeEqual(padded, actual) && expected.length === actual.length;
}

/** An `Authorization` header's token; undefined when there is none; a BAD_REQUEST naming the header when it is malformed. */
export function parseAuthorization(header: string | undefined): Result<ParsedToken | undefined> {
  if (header === undefined || header === '') return ok(undefined);
  const m = /^Bearer ([^\s.]+)\.(\S+)$/.exec(header);
  if (m === null || !namePattern.test(m[1] as string) || !secretPattern.test(m[2] as string)) {
    // The header's value is never echoed: it may be a secret sent by mistake.
    return fail(badRequest('authorization', 'must be "Bearer <user>.<secret>", the token an admin was given when the user was created'));
  }
  return ok({ user: m[1] as string, secret: m[2] as string });
}

/** Token checks: cached once valid, refused again at once when made up, bounded in number at once, and an unknown user refused like a wrong secret. */
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../src/core/strong/access-table.js';
import { Authenticator } from '../../src/server/auth/authenticator.js';
import { makeToken } from '../../src/server/auth/tokens.js';

describe('the authenticator', () => {
  it('a user created after its token was refused in this region is accepted once the region knows it', async () => {
    const alice = await makeToken('alice');
    const root = await makeToken('root');
    const users = new Map<string, UserRecord>();
    const a = new Authenticator({ user: (n) => users.get(n), rootUser: 'root', rootCredential: root.credential });
    expect(await a.authenticate(`Bearer ${alice.token}`)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    users.set('alice', { roles: [], credential: alice.credential, changedIndex: 7 });
    expect(await a.authenticate(`Bearer ${alice.token}`)).toEqual({ ok: true, value: { user: 'alice' } });
    expect(a.knownUser(`Bearer ${alice.token}`)).toBe('alice');
    // Deleted: refused, and no longer known to the rate limiter.
    users.delete('alice');
    expect(await a.authenticate(`Bearer ${alice.token}`)).toMatchObject({ ok: false });
    expect(a.knownUser(`Bearer ${alice.token}`)).toBeNull();
    expect(await a.authenticate(`Bearer ${root.token}`)).toEqual({ ok: true, value: { user: 'root' } });
  });

  it('bounds the checks running at once: past authChecksInFlightMax a new one is OVERLOADED', async () => {
    const root = await makeToken('root');
    const a = new Authenticator({ user: () => undefined, rootUser: 'root', rootCredential: root.credential });
    const made = Array.from({ length: 8 }, (_, i) => `Bearer root.${String(i).padStart(43, 'A')}`);
    const answers = await Promise.all(made.map((h) => a.authenticate(h)));
    const codes = answers.map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes.filter((c) => c === 'OVERLOADED').length).toBe(4);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED').length).toBe(4);
    // A refused token is refused again without a check (none is running, none is needed).
    expect(await a.authenticate(made[0])).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });
});

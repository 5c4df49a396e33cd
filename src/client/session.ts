/** Session tokens on the client side: keep the latest, never move back (docs/api.md, "Session tokens"). */
import { decodeSessionToken, encodeSessionToken, mergeVectors } from '../core/clock/version-vector.js';
import { joinSessionToken, splitSessionToken } from '../core/strong/session-token.js';

/**
 * Joins two session tokens (`t1.region~seq36...` and, after `!`, the strong log index in base
 * 36): the component-wise max, so a late answer never moves a session back.
 */
export function mergeTokens(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const parse = (t: string) => {
    const split = splitSessionToken(t);
    if (!split.ok) return null;
    const vector = split.value.async === undefined ? { ok: true as const, vector: {} } : decodeSessionToken(split.value.async);
    return vector.ok ? { vector: vector.vector, strong: split.value.strong } : null;
  };
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) return b;
  return joinSessionToken(encodeSessionToken(mergeVectors(x.vector, y.vector)), Math.max(x.strong, y.strong));
}

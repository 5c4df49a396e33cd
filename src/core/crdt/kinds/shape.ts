/**
 * Shape checks for the stored forms of field states (each kind's `decode`). They check what the
 * kinds rely on (types and tags), not every invariant a state keeps (sorting, no duplicate dots).
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function isDot(v: unknown): boolean {
  return isRecord(v) && typeof v['origin'] === 'string' && isCount(v['seq']);
}

export function isHlc(v: unknown): boolean {
  return isRecord(v) && isCount(v['wall']) && isCount(v['logical']) && typeof v['node'] === 'string';
}

export function isVector(v: unknown): boolean {
  return isRecord(v) && Object.values(v).every(isCount);
}

/** An optional identity: absent, undefined (stored states keep the key), or a string. */
export function isOptionalId(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

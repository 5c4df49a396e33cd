/** The drill's table, as a person reads it (`--json` prints the results as they are). */
import { renderTable } from '../cli/data/format.js';
import type { FaultResult } from './run.js';

const ms = (v: number | null) => (v === null ? 'not back' : v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

export function formatDrill(results: readonly FaultResult[]): string {
  const head = ['cycle', 'fault', 'region', 'requests', 'RTO async', 'RTO strong', 'longest wait async', 'longest wait strong', 'strong lost', 'async lost', 'async unseen meanwhile', 'counters short'];
  const rows = results.map((r) => [
    String(r.cycle),
    r.fault,
    r.region,
    String(r.requests),
    ms(r.rtoAsyncMs),
    ms(r.rtoStrongMs),
    ms(r.gapAsyncMs),
    ms(r.gapStrongMs),
    `${r.strongLost} of ${r.strongAcked}`,
    `${r.asyncLost} of ${r.asyncAcked}`,
    r.asyncInvisible === 0 ? '0' : `${r.asyncInvisible} for ${ms(r.asyncInvisibleMs)}`,
    String(r.counterShort),
  ]);
  const out = [renderTable(head, rows).trimEnd()];
  for (const r of results) {
    const stages = r.stages.map(([s, t]) => `${s} ${ms(Math.round(t))}`).join(', ');
    const errors = r.errors.map(([c, n]) => `${c} ×${n}`).join(', ') || 'none';
    out.push(`cycle ${r.cycle} ${r.fault} ${r.region}: stages ${stages || '-'}; errors ${errors}`);
  }
  return `${out.join('\n')}\n`;
}

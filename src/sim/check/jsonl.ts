/**
 * Histories as JSON lines: one HistoryEvent per line, so a history recorded from real processes
 * can be checked like a simulated one. Parsing checks the shape a checker relies on and names the
 * line at fault; it does not re-validate whole payloads.
 */
import type { HistoryEvent } from '../history.js';
import { canonicalJson } from '../../core/util/json.js';

const eventTypes = new Set(['invoke', 'ok', 'fail', 'info']);

export function historyToJsonl(events: readonly HistoryEvent[]): string {
  return events.map((e) => canonicalJson(e) + '\n').join('');
}

export function parseHistoryJsonl(text: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`history line ${i + 1}: not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const problem = eventProblem(value);
    if (problem !== null) throw new Error(`history line ${i + 1}: ${problem}`);
    out.push(value as HistoryEvent);
  });
  return out;
}

function eventProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an event is an object';
  const e = value as Record<string, unknown>;
  if (typeof e['type'] !== 'string' || !eventTypes.has(e['type'])) return `type must be one of ${[...eventTypes].join(', ')}`;
  if (typeof e['id'] !== 'number' || typeof e['timeMs'] !== 'number') return 'id and timeMs must be numbers';
  if (e['type'] === 'invoke') {
    if (typeof e['process'] !== 'number' || typeof e['region'] !== 'string') return 'an invoke has a numeric process and a region';
    if (typeof e['call'] !== 'object' || e['call'] === null) return 'an invoke has a call';
    if (typeof e['session'] !== 'object' || e['session'] === null) return 'an invoke has a session vector ({} when none)';
  }
  if (e['type'] === 'ok' && (typeof e['result'] !== 'object' || e['result'] === null)) return 'an ok event has a result';
  return null;
}

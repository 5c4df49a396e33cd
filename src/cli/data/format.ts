/**
 * Output of the data commands. Three modes, chosen once per command (docs/api.md, "Output"):
 *
 * - `raw` (`--json`): the API's answer as it came, one line each (a scan with --all: one per page);
 * - `lines` (stdout is not a terminal): one JSON document per line, and for lists one line per
 *   item (a row, a conflict, a table), so `| jq` and `| wc -l` work on the items;
 * - `human` (a terminal): pretty JSON for one document, an aligned table for lists.
 *
 * Every function here is pure (strings in, strings out) so the formats are unit-tested.
 */

export type OutputMode = 'raw' | 'lines' | 'human';

/** `--json` wins; otherwise a terminal gets the readable view and a pipe gets JSON lines. */
export function outputMode(json: boolean | undefined, isTTY: boolean | undefined): OutputMode {
  if (json === true) return 'raw';
  return isTTY === true ? 'human' : 'lines';
}

/** One JSON document, always ending in a newline (output that runs into the prompt is a bug). */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** A single document (a row, a write's answer, a transaction's result): pretty for people, one line otherwise. */
export function formatDocument(value: unknown, mode: OutputMode): string {
  return mode === 'human' ? `${JSON.stringify(value, null, 2)}\n` : jsonLine(value);
}

const maxCell = 40;

/** A value as a table cell: strings bare (JSON-quoted if they hold control characters), the rest as JSON, long ones cut. */
export function cell(value: unknown): string {
  let s: string;
  if (value === undefined) s = '';
  // eslint-disable-next-line no-control-regex
  else if (typeof value === 'string') s = /[\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value) : value;
  else s = JSON.stringify(value) ?? '';
  return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
}

/** An aligned text table: a header line, then one line per row; columns two spaces apart, no trailing spaces. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export interface RowDoc {
  readonly key: string;
  readonly fields: Record<string, unknown>;
  readonly version: string | null;
}

/** More columns than this and the fields are one FIELDS column of JSON instead of one column each. */
const maxFieldColumns = 8;

/** Rows of a scan: a table with a column per field (or one FIELDS column), or one row per line. */
export function formatRows(rows: readonly RowDoc[], mode: Exclude<OutputMode, 'raw'>): string {
  if (mode === 'lines') return rows.map(jsonLine).join('');
  if (rows.length === 0) return '(no rows)\n';
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.fields ?? {})))].sort();
  if (names.length > maxFieldColumns) {
    return renderTable(['KEY', 'FIELDS', 'VERSION'], rows.map((r) => [cell(r.key), cell(r.fields), cell(r.version ?? '')]));
  }
  return renderTable(
    ['KEY', ...names, 'VERSION'],
    rows.map((r) => [cell(r.key), ...names.map((n) => cell(r.fields?.[n])), cell(r.version ?? '')]),
  );
}

interface PolicyDoc {
  mode?: unknown;
  fields?: Record<string, unknown>;
  ownership?: unknown;
  home?: { region?: unknown; field?: unknown } | null;
  unique?: ReadonlyArray<string | { field?: unknown; enforce?: unknown }>;
}

/** `GET /v1/tables`: a table of the main policy fields (the rest with --json), or one `{table, policy}` per line. */
export function formatTables(tables: Record<string, unknown>, mode: Exclude<OutputMode, 'raw'>): string {
  const names = Object.keys(tables).sort();
  if (mode === 'lines') return names.map((table) => jsonLine({ table, policy: tables[table] })).join('');
  if (names.length === 0) return '(no tables)\n';
  return renderTable(
    ['TABLE', 'MODE', 'OWNERSHIP', 'FIELDS', 'UNIQUE'],
    names.map((name) => {
      const p = (tables[name] ?? {}) as PolicyDoc;
      const home = p.home?.region ?? (p.home?.field === undefined ? undefined : `field ${String(p.home.field)}`);
      const fields = Object.entries(p.fields ?? {}).map(([f, t]) => `${f}:${String(t)}`);
      const unique = (p.unique ?? []).map((u) => (typeof u === 'string' ? u : `${String(u.field)}${u.enforce === 'strong' ? ' (strong)' : ''}`));
      return [name, String(p.mode ?? ''), `${String(p.ownership ?? '')}${home === undefined ? '' : ` (home: ${String(home)})`}`, fields.join(' '), unique.join(', ')];
    }),
  );
}

interface OpRef {
  region?: unknown;
  seq?: unknown;
  /** A loser's own write (docs/api.md, "Conflicts"). */
  wrote?: { value?: unknown; unset?: unknown; patch?: unknown; delete?: unknown; truncated?: unknown; bytes?: unknown };
}

export interface ConflictDoc {
  id?: unknown;
  table?: unknown;
  key?: unknown;
  field?: unknown;
  kind?: unknown;
  rule?: unknown;
  winner?: OpRef;
  losers?: readonly OpRef[];
  loserCount?: unknown;
}

const opRef = (o: OpRef | undefined) => (o === undefined ? '' : `${String(o.region)}#${String(o.seq)}`);

/** What a loser wrote, short: `"Ann B."`, `unset`, `delete`, `patch {...}`, `1234 bytes`. */
function wrote(o: OpRef): string {
  const w = o.wrote;
  if (w === undefined || w === null) return '';
  const short = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 24 ? `${s.slice(0, 23)}…` : s;
  };
  if (w.truncated === true) return ` (${String(w.bytes)} bytes)`;
  if ('value' in w) return ` (${short(w.value)})`;
  if (w.unset === true) return ' (unset)';
  if (w.delete === true) return ' (delete)';
  if ('patch' in w) return ` (patch ${short(w.patch)})`;
  return '';
}

/** Conflict feed entries: a table naming the winner and losers by `region#seq` (with what each loser wrote), or one entry per line. */
export function formatConflicts(entries: readonly ConflictDoc[], mode: Exclude<OutputMode, 'raw'>): string {
  if (mode === 'lines') return entries.map(jsonLine).join('');
  if (entries.length === 0) return '(no conflicts)\n';
  return renderTable(
    ['ID', 'TABLE', 'KEY', 'FIELD', 'KIND', 'RULE', 'WINNER', 'LOSERS'],
    entries.map((e) => {
      const shown = (e.losers ?? []).slice(0, 3).map((l) => opRef(l) + wrote(l));
      const count = typeof e.loserCount === 'number' ? e.loserCount : (e.losers ?? []).length;
      const more = count > shown.length ? ` (+${count - shown.length} more)` : '';
      return [cell(e.id), cell(e.table), cell(e.key), e.field === null || e.field === undefined ? '-' : cell(e.field), cell(e.kind), cell(e.rule), opRef(e.winner), shown.join(', ') + more];
    }),
  );
}

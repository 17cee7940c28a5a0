/** The bench's output: one markdown table plus one JSON line per scenario row. */

export interface Row {
  /** Short id, e.g. `a whoami 64×16`. */
  scenario: string;
  ours: number | null;
  baseline: number | null;
  unit: string;
  /** ours / baseline, or a scenario-specific ratio (e.g. storm p99 / quiet p99). */
  ratio: number | null;
  target: string;
  /** undefined: no target on this row (context figures). */
  met?: boolean;
  /** Free-form details (latencies, CPU) that go into the JSON line and the notes column. */
  detail?: Record<string, number | string | boolean | null>;
}

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1000 && digits === 0) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

export function jsonLine(row: Row): string {
  return JSON.stringify({ ...row, ratio: row.ratio === null ? null : Number(row.ratio.toFixed(3)) });
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| scenario | ours | baseline | ratio | target | met? | notes |',
    '|---|---:|---:|---:|---|:-:|---|',
  ];
  for (const r of rows) {
    const digits = r.unit === 'ms' || r.unit === 'KiB' ? 1 : 0;
    const ours = r.ours === null ? '–' : `${fmt(r.ours, digits)} ${r.unit}`;
    const base = r.baseline === null ? '–' : `${fmt(r.baseline, digits)} ${r.unit}`;
    const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
    const notes = r.detail
      ? Object.entries(r.detail)
          .map(
            ([k, v]) =>
              `${k} ${typeof v === 'number' ? fmt(v, Number.isInteger(v) || Math.abs(v) >= 100 ? 0 : 1) : String(v)}`,
          )
          .join(', ')
      : '';
    lines.push(
      `| ${r.scenario} | ${ours} | ${base} | ${fmt(r.ratio, 2)} | ${r.target} | ${met} | ${notes} |`,
    );
  }
  return lines.join('\n');
}

import type { ContenderResult, Metric, Target, Unit, VariantResult, WorkloadResult } from './results.js';
import { figure } from './results.js';
import { ratio, type Summary } from './stats.js';

const KiB = 1024;

/** A figure as a person reads it. Pure. */
export function formatValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'ms':
      return v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
    case 's':
      return `${v.toFixed(2)} s`;
    case 'count':
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
    case 'percent':
      return `${v.toFixed(2)} %`;
    case 'times':
      return `${v.toFixed(2)}×`;
    case 'bytes': {
      if (v < KiB) return `${Math.round(v)} B`;
      const units = ['KiB', 'MiB', 'GiB'];
      let x = v / KiB;
      let i = 0;
      while (x >= KiB && i < units.length - 1) {
        x /= KiB;
        i++;
      }
      return `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)} ${units[i] ?? ''}`;
    }
  }
}

function cell(s: Summary | null, unit: Unit): string {
  if (s === null) return '–';
  const [median, min, max] = [s.median, s.min, s.max].map((v) => formatValue(v, unit));
  return min === max ? (median ?? '') : `${median ?? ''} [${min ?? ''} – ${max ?? ''}]`;
}

/** Columns padded to their widest cell. Pure. */
export function formatTable(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map(
      (row) => indent + row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

function variantTable(metrics: readonly Metric[], v: VariantResult): string {
  const floor = v.contenders.find((c) => c.floor && c.skipped === null);
  const header = [
    '',
    ...metrics.flatMap((m) => (m.vsFloor === true && floor ? [m.label, '× floor'] : [m.label])),
  ];
  const rows: string[][] = [header];
  const after: string[] = [];
  for (const c of v.contenders) {
    if (c.skipped !== null) {
      after.push(`  ${c.name}: skipped (${c.skipped})`);
      continue;
    }
    rows.push([c.name, ...metrics.flatMap((m) => metricCells(m, c, floor))]);
    for (const f of c.failures) after.push(`  ${c.name}: ! ${f}`);
    for (const n of c.notes) after.push(`  ${c.name}: ${n}`);
  }
  return [formatTable(rows, '  '), ...after].join('\n');
}

function metricCells(m: Metric, c: ContenderResult, floor: ContenderResult | undefined): string[] {
  const s = figure(c, m.key);
  const out = [cell(s, m.unit)];
  if (m.vsFloor === true && floor) {
    const r = ratio(s?.median, figure(floor, m.key)?.median);
    out.push(r === null ? '–' : `${r.toFixed(2)}×`);
  }
  return out;
}

/** A workload's tables, one per variant, with its notes. Pure. */
export function formatWorkload(w: WorkloadResult): string {
  const parts = [`== ${w.title} ==`];
  for (const v of w.variants) {
    if (w.variants.length > 1 || v.label !== '') parts.push(`-- ${v.label}`);
    parts.push(variantTable(w.metrics, v));
  }
  for (const n of w.notes) parts.push(`  note: ${n}`);
  return parts.join('\n');
}

export function formatTarget(t: Target): string {
  return `${t.pass ? 'PASS' : 'MISS'}  ${t.what}: ${t.measured} (target ${t.limit})`;
}

/** A target `value ≤ limit`; a missing value (not measured, did not finish) is a MISS saying why. Pure. */
export function atMost(
  what: string,
  value: number | null,
  limit: number,
  unit: Unit,
  missing = 'not measured',
): Target {
  return {
    what,
    measured: value === null ? missing : formatValue(value, unit),
    limit: `≤ ${formatValue(limit, unit)}`,
    pass: value !== null && value <= limit,
  };
}

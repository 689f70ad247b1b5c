import { parseArgs } from 'node:util';

/** The workloads, in the order the bench runs them. */
export const WORKLOADS = [
  'latency',
  'burst',
  'edits',
  'bigfile',
  'rename',
  'scale',
  'churn',
  'coalesce',
] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** What `--quick` runs when no `--only` is given: small versions of 1–3, and 8 (no rsync). */
const QUICK_DEFAULT: readonly WorkloadName[] = ['latency', 'burst', 'edits', 'coalesce'];

export interface BenchOptions {
  readonly quick: boolean;
  readonly workloads: readonly WorkloadName[];
  /** `--json FILE`: every figure, machine-readable. */
  readonly jsonFile: string | null;
}

/** `npm run bench -- [--quick] [--only NAME[,NAME…]] [--json FILE]`. Pure. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new BenchUsage(usage(), 0);
  const only = (values.only ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
  for (const name of only) {
    if (!isWorkload(name)) throw new BenchUsage(`unknown workload '${name}'\n${usage()}`, 2);
  }
  const picked = only.filter(isWorkload);
  const workloads =
    picked.length > 0
      ? WORKLOADS.filter((w) => picked.includes(w))
      : values.quick
        ? QUICK_DEFAULT
        : WORKLOADS;
  return { quick: values.quick, workloads, jsonFile: values.json ?? null };
}

/** `--help` (exit 0) or a command-line mistake (exit 2): the message is the whole report. */
export class BenchUsage extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function isWorkload(name: string): name is WorkloadName {
  return (WORKLOADS as readonly string[]).includes(name);
}

function usage(): string {
  return [
    'usage: npm run bench -- [--quick] [--only NAME[,NAME…]] [--json FILE]',
    `  workloads: ${WORKLOADS.join(', ')}`,
    '  --quick   small versions (default: latency, burst, edits; under two minutes)',
    '  --json    write every figure to FILE',
  ].join('\n');
}

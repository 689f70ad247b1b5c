/** A tree of `files` files spread evenly over `dirs` directories below the root. */
export interface TreeShape {
  readonly label: string;
  readonly files: number;
  readonly dirs: number;
  /** Bytes per file. */
  readonly fileBytes: number;
}

/** How big each workload is: the full bench, or `--quick`. */
export interface Sizes {
  readonly latency: {
    readonly repeats: number;
    readonly slowRepeats: number;
    readonly trees: readonly TreeShape[];
  };
  readonly burst: { readonly repeats: number; readonly files: number; readonly dirs: number };
  readonly edits: { readonly repeats: number; readonly files: number };
  readonly bigfile: { readonly bytes: number; readonly writeMs: number };
  readonly rename: { readonly repeats: number; readonly files: number };
  readonly scale: readonly (TreeShape & { readonly repeats: number })[];
  readonly churn: {
    /** The same seeded plan each time: where its end falls in a batch moves the tail, run to run. */
    readonly repeats: number;
    readonly ops: number;
    readonly overMs: number;
    readonly files: number;
    readonly dirs: number;
  };
  /** Include lsyncd with its default 15 s delay (each lone change costs 15 s). */
  readonly slowPeers: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const FULL: Sizes = {
  latency: {
    repeats: 20,
    slowRepeats: 3,
    trees: [
      { label: 'empty tree', files: 0, dirs: 0, fileBytes: KiB },
      { label: '100,000 files / 1,000 dirs', files: 100_000, dirs: 1_000, fileBytes: KiB },
    ],
  },
  burst: { repeats: 3, files: 10_000, dirs: 100 },
  edits: { repeats: 3, files: 1_000 },
  bigfile: { bytes: 1024 * MiB, writeMs: 5_000 },
  rename: { repeats: 3, files: 10_000 },
  scale: [
    { label: '100,000 files / 1,000 dirs', files: 100_000, dirs: 1_000, fileBytes: 0, repeats: 3 },
    { label: '1,000,000 files / 10,000 dirs', files: 1_000_000, dirs: 10_000, fileBytes: 0, repeats: 1 },
  ],
  churn: { repeats: 3, ops: 20_000, overMs: 60_000, files: 2_000, dirs: 20 },
  slowPeers: true,
};

export const QUICK: Sizes = {
  latency: {
    repeats: 5,
    slowRepeats: 0,
    trees: [
      { label: 'empty tree', files: 0, dirs: 0, fileBytes: KiB },
      { label: '10,000 files / 100 dirs', files: 10_000, dirs: 100, fileBytes: KiB },
    ],
  },
  burst: { repeats: 1, files: 2_000, dirs: 20 },
  edits: { repeats: 1, files: 200 },
  bigfile: { bytes: 64 * MiB, writeMs: 1_000 },
  rename: { repeats: 1, files: 1_000 },
  scale: [{ label: '10,000 files / 100 dirs', files: 10_000, dirs: 100, fileBytes: 0, repeats: 1 }],
  churn: { repeats: 1, ops: 2_000, overMs: 6_000, files: 500, dirs: 10 },
  slowPeers: false,
};

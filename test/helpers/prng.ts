/** mulberry32: a tiny seeded PRNG, so a failing run reproduces from the seed it prints. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from `env` (to reproduce a failure) or a fresh one. */
export function seedFrom(env: string | undefined): number {
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

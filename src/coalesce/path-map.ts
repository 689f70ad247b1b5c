import { parentOf, type RelPath } from '../paths.js';

/**
 * A Map from paths that also finds every key below a directory in time proportional to what is
 * there, not to the whole map: each key is linked into its parent's set of children, up to the
 * root, so the coalescer's per-operation cost stays O(depth) however much is pending. Iteration
 * is in insertion order, as a Map's. `counted` keeps a running count of the values it accepts.
 */
export class PathMap<V> {
  private readonly values = new Map<RelPath, V>();
  /** Directory → the keys and key-holding directories directly in it. */
  private readonly children = new Map<RelPath, Set<RelPath>>();
  private matching = 0;

  constructor(private readonly counted: (v: V) => boolean = () => false) {}

  get size(): number {
    return this.values.size;
  }

  /** Values for which `counted` holds. */
  get countedSize(): number {
    return this.matching;
  }

  get(path: RelPath): V | undefined {
    return this.values.get(path);
  }

  has(path: RelPath): boolean {
    return this.values.has(path);
  }

  set(path: RelPath, value: V): void {
    const old = this.values.get(path);
    if (old === undefined) this.link(path);
    else if (this.counted(old)) this.matching--;
    if (this.counted(value)) this.matching++;
    this.values.set(path, value);
  }

  delete(path: RelPath): boolean {
    const old = this.values.get(path);
    if (old === undefined) return false;
    if (this.counted(old)) this.matching--;
    this.values.delete(path);
    this.unlink(path);
    return true;
  }

  clear(): void {
    this.values.clear();
    this.children.clear();
    this.matching = 0;
  }

  keys(): IterableIterator<RelPath> {
    return this.values.keys();
  }

  [Symbol.iterator](): IterableIterator<[RelPath, V]> {
    return this.values.entries();
  }

  /** The keys strictly below `dir`, with their values. */
  *below(dir: RelPath): Generator<[RelPath, V]> {
    const stack = [...(this.children.get(dir) ?? [])];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const v = this.values.get(p);
      if (v !== undefined) yield [p, v];
      for (const c of this.children.get(p) ?? []) stack.push(c);
    }
  }

  private link(path: RelPath): void {
    for (let p = path; p !== '';) {
      const parent = parentOf(p);
      let set = this.children.get(parent);
      if (set === undefined) this.children.set(parent, (set = new Set()));
      if (set.has(p)) return;
      set.add(p);
      p = parent;
    }
  }

  /** Unlinks `path` and every directory left holding nothing. */
  private unlink(path: RelPath): void {
    for (let p = path; p !== '';) {
      if (this.values.has(p) || (this.children.get(p)?.size ?? 0) > 0) return;
      this.children.delete(p);
      const parent = parentOf(p);
      const set = this.children.get(parent);
      set?.delete(p);
      p = parent;
    }
  }
}

import { joinRel, type RelPath } from '../paths.js';

/** A watched directory. Its path is not stored but derived from its parents, so a rename is O(1). */
export interface DirNode {
  readonly wd: number;
  parent: DirNode | undefined;
  name: RelPath;
  readonly children: Map<RelPath, DirNode>;
}

/**
 * The wd → directory map of one inotify instance, shaped like the tree it watches: each node
 * knows its parent and its name in it. Moving a node moves its whole subtree's paths with it.
 */
export class WatchTree {
  private readonly byWd = new Map<number, DirNode>();
  private rootNode: DirNode | undefined;

  get size(): number {
    return this.byWd.size;
  }

  get root(): DirNode | undefined {
    return this.rootNode;
  }

  get(wd: number): DirNode | undefined {
    return this.byWd.get(wd);
  }

  /** The path relative to the root ('' for the root). */
  pathOf(node: DirNode): RelPath {
    let path = '';
    for (let n = node; n.parent !== undefined; n = n.parent) path = joinRel(n.name, path);
    return path;
  }

  childOf(parent: DirNode, name: RelPath): DirNode | undefined {
    return parent.children.get(name);
  }

  /** Starts a fresh tree (forgetting every node) whose root is watched as `wd`. */
  setRoot(wd: number): DirNode {
    const node: DirNode = { wd, parent: undefined, name: '', children: new Map() };
    this.byWd.clear();
    this.byWd.set(wd, node);
    this.rootNode = node;
    return node;
  }

  /**
   * Records that directory `name` in `parent` is watched as `wd`. The kernel gives one wd per inode,
   * so a known wd means the directory moved here: it is moved, subtree and all. Returns the wds of a
   * different directory this one replaced (they are stale).
   */
  place(wd: number, parent: DirNode, name: RelPath): { node: DirNode; replaced: number[] } {
    const known = this.byWd.get(wd);
    const unchanged = known !== undefined && known.parent === parent && known.name === name;
    // Only a stale map (events were lost) can ask to put a directory below itself: stay acyclic and
    // leave it be; the rewatch after the overflow that lost them rebuilds the map.
    if (known !== undefined && (unchanged || this.isInside(parent, known)))
      return { node: known, replaced: [] };
    const occupant = parent.children.get(name);
    const replaced = occupant !== undefined && occupant !== known ? this.detach(occupant) : [];
    if (known !== undefined) {
      this.unlink(known);
      known.parent = parent;
      known.name = name;
      parent.children.set(name, known);
      return { node: known, replaced };
    }
    const node: DirNode = { wd, parent, name, children: new Map() };
    this.byWd.set(wd, node);
    parent.children.set(name, node);
    return { node, replaced };
  }

  /** Moves `node` (and so every path below it) to `name` in `parent`. */
  move(node: DirNode, parent: DirNode, name: RelPath): number[] {
    return this.place(node.wd, parent, name).replaced;
  }

  /** Forgets `node` and everything below it; returns their wds (for inotify_rm_watch). */
  detach(node: DirNode): number[] {
    this.unlink(node);
    const wds: number[] = [];
    const stack = [node];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      wds.push(n.wd);
      this.byWd.delete(n.wd);
      stack.push(...n.children.values());
    }
    if (node === this.rootNode) this.rootNode = undefined;
    return wds;
  }

  /** Every wd, e.g. to remove all watches. */
  wds(): number[] {
    return [...this.byWd.keys()];
  }

  private isInside(node: DirNode, ancestor: DirNode): boolean {
    for (let n: DirNode | undefined = node; n !== undefined; n = n.parent) if (n === ancestor) return true;
    return false;
  }

  private unlink(node: DirNode): void {
    if (node.parent?.children.get(node.name) === node) node.parent.children.delete(node.name);
  }
}

/** A real watcher with some of its methods replaced: a start held or refused, a drain cut short. */
import type { Watcher } from '../../src/watch/types.js';

export function overriding(watcher: Watcher, over: Partial<Pick<Watcher, 'start' | 'drain'>>): Watcher {
  return {
    start: over.start ?? (() => watcher.start()),
    watchedDirectories: () => watcher.watchedDirectories(),
    health: () => watcher.health(),
    mountMemory: () => watcher.mountMemory?.(),
    drain: over.drain ?? (() => watcher.drain?.() ?? Promise.resolve(true)),
    settled: () => watcher.settled(),
    close: () => watcher.close(),
  };
}

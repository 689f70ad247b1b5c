import type { CommandPluginSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { displayPath } from '../paths.js';
import { runChild } from './child.js';
import { PluginError } from './errors.js';
import { absolutePath } from './event.js';
import { PluginRunner } from './runner.js';
import type { Plugin } from './types.js';

/**
 * argv = prefix words + [absolute path] + suffix words, exactly sersync's command line but as
 * separate arguments, so nothing in a file name is ever interpreted by a shell. The path is the
 * display form: argv strings reach the program UTF-8 encoded, so a non-UTF-8 name arrives with
 * U+FFFD in place of its invalid bytes.
 */
export function commandArgv(settings: CommandPluginSettings, absDisplay: string): readonly string[] {
  return [...settings.prefix, absDisplay, ...settings.suffix];
}

/** sersync's include filter: runs when there are no includes or one matches the whole absolute path. */
export function commandWanted(settings: CommandPluginSettings, absDisplay: string): boolean {
  return settings.includes.length === 0 || settings.includes.some((rule) => rule.regex.test(absDisplay));
}

/** The command plugin: runs a program per event, bounded in number and time. */
export function createCommandPlugin(settings: CommandPluginSettings, log: Logger): Plugin {
  const timeoutMs = settings.timeoutS * 1000;
  const runner = new PluginRunner(log, {
    concurrency: settings.concurrency,
    closeGraceMs: timeoutMs,
    // sersync's ignoreError only silenced the output; here it also lowers a failure to info.
    failureLevel: settings.ignoreError ? 'info' : 'error',
  });
  return {
    name: 'command',
    handle(ev) {
      const absDisplay = displayPath(absolutePath(ev));
      if (!commandWanted(settings, absDisplay)) {
        log.debug({ path: absDisplay }, 'command plugin: no include matches; skipped');
        return Promise.resolve();
      }
      const argv = commandArgv(settings, absDisplay);
      return runner.run({ argv }, async (signal) => {
        log.debug({ argv }, 'command plugin running');
        const { code, signal: sig, output } = await runChild(argv, timeoutMs, signal);
        if (code !== 0) {
          const how = code === null ? `was killed by ${String(sig)}` : `exited with code ${code}`;
          throw new PluginError(`command ${how}`, { code, signal: sig, output });
        }
        log.debug({ argv, output }, 'command plugin done');
      });
    },
    stats: () => runner.stats(),
    close: () => runner.close(),
  };
}

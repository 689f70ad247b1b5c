import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatWarning } from '../config/present.js';
import type { Config } from '../config/types.js';
import { globalOptions, stderrLine } from './program.js';

/**
 * Loads the config named by `-o` and prints its warnings to stderr. Apart from program.ts, so
 * that `--version` does not load the XML parser.
 */
export function loadConfigFor(cmd: Command): Config {
  const config = loadConfig(globalOptions(cmd).configFile);
  for (const w of config.warnings) stderrLine('warn', formatWarning(config.file, w));
  return config;
}

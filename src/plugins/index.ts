import type { PluginName, PluginSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { createCommandPlugin } from './command.js';
import { PluginError } from './errors.js';
import { createHttpPlugin } from './http.js';
import { createRefreshCdnPlugin } from './refresh-cdn.js';
import { createSocketPlugin } from './socket.js';
import type { Plugin } from './types.js';

export type { Plugin, PluginEvent } from './types.js';
export { PluginError } from './errors.js';

/**
 * The plugin `name`, configured from its `<plugin name="…">` section. Throws a `PluginError` when
 * that section is missing or unusable (e.g. an invalid refreshCDN regex); never afterwards.
 */
export function createPlugin(name: PluginName, settings: PluginSettings, log: Logger): Plugin {
  const missing = (): never => {
    throw new PluginError(
      `plugin "${name}" is enabled but the config has no <plugin name="${name}"> section`,
    );
  };
  const child = log.child({ plugin: name });
  switch (name) {
    case 'command':
      return createCommandPlugin(settings.command ?? missing(), child);
    case 'socket':
      return createSocketPlugin(settings.socket ?? missing(), child);
    case 'refreshCDN':
      return createRefreshCdnPlugin(settings.refreshCDN ?? missing(), child);
    case 'http':
      return createHttpPlugin(settings.http ?? missing(), child);
  }
}

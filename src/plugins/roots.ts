import type { Config, PluginName } from '../config/types.js';

/**
 * The trees a plugin hears about. The command plugin follows the sersync trees; socket,
 * refreshCDN and http name their own `localpath watch` (sersync let that replace the sync root;
 * we keep the sync root and run the plugin on its own watch).
 */
export function pluginRoots(config: Config, name: PluginName): string[] {
  switch (name) {
    case 'command':
      return config.localpaths.map((lp) => lp.watch);
    case 'socket':
    case 'refreshCDN':
    case 'http':
      return [config.plugin[name]?.watch].filter((w): w is string => w !== undefined);
  }
}

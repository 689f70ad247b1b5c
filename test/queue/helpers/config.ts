import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

export interface TestConfigOptions {
  readonly watch: string;
  readonly failLog: string;
  readonly remotes?: readonly { readonly ip: string; readonly name: string }[];
  readonly params?: string;
  /** `<auth>`: users and password file. */
  readonly auth?: { readonly users: string; readonly passwordFile: string };
  readonly port?: number;
  readonly timeoutS?: number;
  readonly ssh?: boolean;
  readonly deleteEvents?: boolean;
  readonly debug?: boolean;
  readonly timeToExecute?: number;
  readonly stateDir?: string;
  /** Extra XML inside `<head>` (e.g. a `<filter>`). */
  readonly headXml?: string;
  /** Extra `<localpath>` elements. */
  readonly moreLocalpaths?: string;
  /** Extra elements inside `<inotify>` (after `<delete>`). */
  readonly inotifyXml?: string;
  /** Extra elements at the end of `<sersync>` (e.g. `<plugin start="true" name="socket"/>`). */
  readonly sersyncXml?: string;
}

function attr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Writes a sersync confxml.xml into `dir` and loads it with the real loader. */
export function testConfig(dir: string, o: TestConfigOptions): Config {
  const on = (b: boolean | undefined): string => (b === true ? 'true' : 'false');
  const remotes = (o.remotes ?? [{ ip: '127.0.0.1', name: 'tongbu1' }])
    .map((r) => `<remote ip="${attr(r.ip)}" name="${attr(r.name)}"/>`)
    .join('\n');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<head version="2.5">
  <debug start="${on(o.debug)}"/>
  ${o.headXml ?? ''}
  <inotify>
    <delete start="${on(o.deleteEvents ?? true)}"/>
    ${o.inotifyXml ?? ''}
  </inotify>
  ${o.stateDir === undefined ? '' : `<state dir="${attr(o.stateDir)}"/>`}
  <sersync>
    <localpath watch="${attr(o.watch)}">
      ${remotes}
    </localpath>
    ${o.moreLocalpaths ?? ''}
    <rsync>
      <commonParams params="${attr(o.params ?? '-artuz')}"/>
      <auth start="${on(o.auth !== undefined)}" users="${attr(o.auth?.users ?? 'root')}" passwordfile="${attr(o.auth?.passwordFile ?? '/etc/rsync.pas')}"/>
      <userDefinedPort start="${on(o.port !== undefined)}" port="${o.port ?? 874}"/>
      <timeout start="${on(o.timeoutS !== undefined)}" time="${o.timeoutS ?? 100}"/>
      <ssh start="${on(o.ssh)}"/>
    </rsync>
    <failLog path="${attr(o.failLog)}" timeToExecute="${o.timeToExecute ?? 60}"/>
    ${o.sersyncXml ?? ''}
  </sersync>
</head>
`;
  const file = join(dir, 'confxml.xml');
  writeFileSync(file, xml);
  return loadConfig(file);
}

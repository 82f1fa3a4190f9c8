import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import { REPO } from './worker-fixture';

/** The test packages of the zygote plugins (see its README). */
export const ZYGOTE_PACKAGES = path.join(REPO, 'test/zygote-packages');

/**
 * A worker config with only the plugins a zygote test needs (the default
 * file's core keys and those plugins' sections), so that the test does not
 * depend on every other plugin of the default list. Returns its path.
 */
export function zygoteTestConfig(plugins: string[], sections: Record<string, unknown> = {}): string {
  const doc = parse(fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
  const defaults = doc.plugins as string[];
  for (const name of defaults) if (!plugins.includes(name)) delete doc[name];
  doc.plugins = plugins;
  Object.assign(doc, sections);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'olz-conf-')), 'config.yaml');
  fs.writeFileSync(file, stringify(doc));
  return file;
}

export const BASE_PLUGINS = ['cgroup-v2', 'cgroup-v1', 'seccomp', 'sock', 'registry-dir', 'scheduler-fifo'];

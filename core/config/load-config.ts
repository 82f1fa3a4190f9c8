import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { ConfigError, validate } from './schema-validator';
import { workerConfigSchema, type WorkerConfig } from './worker-config';
import { checkPolicy } from './cgroup-policy';

/** The embedded default config shipped with OL Kernel. */
export const DEFAULT_CONFIG_FILE = path.resolve(__dirname, '../../../config/default.yaml');

/**
 * Read a worker config file, apply `-o key.path=value` overrides (values are
 * YAML, so `-o limits.defaults.mem_mb=256` is a number and
 * `-o registry-dir.dirs=[examples]` a list), and check the core keys.
 */
export function loadWorkerConfig(file: string, overrides: string[] = []): WorkerConfig {
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new ConfigError(file, [(e as Error).message]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, ['the top level must be a mapping']);
  const config = raw as Record<string, unknown>;
  for (const o of overrides) applyOverride(config, o);
  validate(workerConfigSchema, config, file);
  const policyProblems = checkPolicy((config as WorkerConfig).cgroup);
  if (policyProblems.length) throw new ConfigError(file, policyProblems);
  return config as WorkerConfig;
}

export function applyOverride(config: Record<string, unknown>, override: string): void {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError('-o', [`"${override}" is not key.path=value`]);
  const keys = override.slice(0, eq).split('.');
  const value = YAML.parse(override.slice(eq + 1));
  let node = config;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/schema-validator';
import type { FunctionConfig, SecretRequest } from './function-config';
import { parseOlYaml, type OlYaml } from './ol-yaml';
import { parseRequirementsTxt, parseSingleFileDirectives } from './requirements';
import { LIMIT_KEYS, type LimitKey, type ResourceLimits } from './resource-limits';

const DEFAULT_OWNER = 'default';

/**
 * Build a function's config from its directory: ol.yaml (if any), then
 * requirements.txt, then `# ol-install:`/`# ol-import:` comments in the
 * entry file. Packages and imports from all three are merged.
 */
export function readFunctionConfig(codeDir: string, name: string): FunctionConfig {
  const olFile = path.join(codeDir, 'ol.yaml');
  const ol = fs.existsSync(olFile) ? parseOlYaml(fs.readFileSync(olFile, 'utf8'), `${name}/ol.yaml`) : {};
  const entry = ol.entry ?? 'f.py';
  const entryPath = path.join(codeDir, entry);
  if (!fs.existsSync(entryPath)) {
    throw new ConfigError(`${name}/${entry}`, [`the entry file is missing; a function needs ${entry} defining ${ol.handler ?? 'f'}(event)`]);
  }
  const directives = parseSingleFileDirectives(fs.readFileSync(entryPath, 'utf8'));
  const reqFile = path.join(codeDir, 'requirements.txt');
  const fromTxt = fs.existsSync(reqFile) ? parseRequirementsTxt(fs.readFileSync(reqFile, 'utf8'), `${name}/requirements.txt`) : [];
  return {
    entry,
    handler: ol.handler ?? 'f',
    owner: ol.owner ?? DEFAULT_OWNER,
    methods: ol.triggers?.http ? [...new Set(ol.triggers.http.map((t) => t.method.toUpperCase()))] : null,
    environment: Object.fromEntries(Object.entries(ol.environment ?? {}).map(([k, v]) => [k, String(v)])),
    reuseSandbox: ol['reuse-sandbox'] ?? true,
    packages: unique([...(ol.packages ?? []), ...fromTxt, ...directives.install]),
    imports: unique([...(ol.imports ?? []), ...directives.imports]),
    secrets: secretRequests(ol.secrets ?? []),
    ...(ol.seccomp ? { seccomp: ol.seccomp } : {}),
    ...(ol.network ? { network: ol.network } : {}),
    ...(ol.scratch?.tmpfs_mb ? { scratchTmpfsMb: ol.scratch.tmpfs_mb } : {}),
    limits: Object.fromEntries(
      Object.entries(ol.limits ?? {}).map(([k, v]) => [LIMIT_KEYS[k as LimitKey], v]),
    ) as Partial<ResourceLimits>,
    cgroup: ol.cgroup ?? {},
  };
}

/**
 * A function's limits: the operator's defaults, overridden by what ol.yaml
 * asks for, which may not exceed the operator's maximum.
 */
export function resolveLimits(
  asked: Partial<ResourceLimits>,
  defaults: Record<LimitKey, number>,
  max: Record<LimitKey, number>,
  source: string,
): ResourceLimits {
  const out = {} as ResourceLimits;
  const problems: string[] = [];
  for (const [key, field] of Object.entries(LIMIT_KEYS) as [LimitKey, (typeof LIMIT_KEYS)[LimitKey]][]) {
    const value = asked[field] ?? defaults[key];
    if (value > max[key]) problems.push(`limits.${key}: ${value} is above the operator's maximum of ${max[key]}; ask for at most ${max[key]}`);
    out[field] = value;
  }
  if (problems.length) throw new ConfigError(source, problems);
  return out;
}

/** `- name` asks for proxy use; `{name, mode: env}` gets the variable NAME upper-cased with _ unless `env` names it. */
function secretRequests(items: NonNullable<OlYaml['secrets']>): SecretRequest[] {
  return items.map((item) => {
    const asked: { name: string; mode?: SecretRequest['mode']; env?: string } = typeof item === 'string' ? { name: item } : item;
    const { name, mode = 'proxy', env } = asked;
    return mode === 'env' ? { name, mode, env: env ?? name.toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^(\d)/, '_$1') } : { name, mode };
  });
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

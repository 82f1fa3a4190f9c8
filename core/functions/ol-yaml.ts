import YAML from 'yaml';
import { ConfigError, validate } from '../config/schema-validator';
import { SECRET_NAME_PATTERN } from '../extension-points/secret-provider';

/** What a function author may write in ol.yaml. OpenLambda's own keys keep their meaning. */
export interface OlYaml {
  entry?: string;
  handler?: string;
  owner?: string;
  triggers?: { http?: { method: string }[] };
  environment?: Record<string, string | number | boolean>;
  'reuse-sandbox'?: boolean;
  packages?: string[];
  imports?: string[];
  limits?: { mem_mb?: number; procs?: number; cpu_percent?: number; timeout_ms?: number };
  /** cgroup v2 interface files by kernel name, e.g. `memory.high: 64M` (within the operator's `cgroup:` policy). */
  cgroup?: Record<string, string | number | boolean>;
  secrets?: (string | { name: string; mode?: 'proxy' | 'env' | 'file'; env?: string })[];
  /** The seccomp profile to run under (one the operator's `seccomp.allowed_profiles` lists). */
  seccomp?: string;
  /** Its network: `none` (loopback only) or `egress` (outbound internet), within the operator's policy (plugin netns-egress). */
  network?: 'none' | 'egress';
  /** Scratch space (/host): `tmpfs_mb` makes it a private tmpfs of that size, counted in the memory limit (needs a DiskQuota plugin). */
  scratch?: { tmpfs_mb?: number };
}

/** What an owner name may be, in ol.yaml and in an upload (`ol admin install --owner`). */
export const OWNER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$';

const olYamlSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    entry: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*\\.py$' },
    handler: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    owner: { type: 'string', pattern: OWNER_PATTERN },
    triggers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        http: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['method'],
            properties: { method: { type: 'string', pattern: '^[A-Za-z]+$' } },
          },
        },
      },
    },
    environment: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    'reuse-sandbox': { type: 'boolean' },
    seccomp: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
    network: { enum: ['none', 'egress'] },
    packages: { type: 'array', items: { type: 'string', minLength: 1 } },
    imports: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.]*$' } },
    secrets: {
      type: 'array',
      items: {
        anyOf: [
          { type: 'string', pattern: SECRET_NAME_PATTERN },
          {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string', pattern: SECRET_NAME_PATTERN },
              mode: { enum: ['proxy', 'env', 'file'] },
              env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            },
          },
        ],
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mem_mb: { type: 'integer', minimum: 16 },
        procs: { type: 'integer', minimum: 4 },
        cpu_percent: { type: 'integer', minimum: 1 },
        timeout_ms: { type: 'integer', minimum: 10 },
      },
    },
    scratch: {
      type: 'object',
      additionalProperties: false,
      properties: { tmpfs_mb: { type: 'integer', minimum: 1, maximum: 65536 } },
    },
    cgroup: {
      type: 'object',
      propertyNames: { pattern: '^[a-z]+(\\.[A-Za-z0-9_]+)+$' },
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
  },
};

/** Parse and check an ol.yaml; problems name the file and the key. */
export function parseOlYaml(text: string, file: string): OlYaml {
  let doc: unknown;
  try {
    doc = YAML.parse(text) ?? {};
  } catch (e) {
    throw new ConfigError(file, [`not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(file, ['the top level must be a mapping of keys to values']);
  validate(olYamlSchema, doc, file);
  return doc as OlYaml;
}

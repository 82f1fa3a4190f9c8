import type { LimitKey } from '../functions/resource-limits';
import { cgroupPolicySchema, type CgroupPolicy } from './cgroup-policy';

export type LimitSet = Record<LimitKey, number>;

/** The worker's own config keys; each plugin's section sits beside them under the plugin's name. */
export interface WorkerConfig {
  worker: { log_level: string };
  http: { host: string; port: number; max_body_bytes: number; headers_timeout_ms: number; request_timeout_ms: number; max_connections: number };
  /** Plugins to load, in order (names of built-in plugins, paths, or package names). */
  plugins: string[];
  /** For exclusive extension points with several providers: point id -> plugin name. */
  select: Record<string, string>;
  limits: { defaults: LimitSet; max: LimitSet };
  /** Which cgroup keys functions (ol.yaml) and requests (X-OL-Cgroup) may set, and their ranges. */
  cgroup: CgroupPolicy;
  /** Plugin sections, keyed by plugin name. */
  [plugin: string]: unknown;
}

const limitSet = (defaults: LimitSet) => ({
  type: 'object',
  additionalProperties: false,
  default: defaults,
  properties: {
    mem_mb: { type: 'integer', minimum: 16, default: defaults.mem_mb },
    procs: { type: 'integer', minimum: 4, default: defaults.procs },
    cpu_percent: { type: 'integer', minimum: 1, default: defaults.cpu_percent },
    timeout_ms: { type: 'integer', minimum: 10, default: defaults.timeout_ms },
  },
});

export const DEFAULT_LIMITS: LimitSet = { mem_mb: 128, procs: 64, cpu_percent: 100, timeout_ms: 30000 };
export const MAX_LIMITS: LimitSet = { mem_mb: 1024, procs: 512, cpu_percent: 200, timeout_ms: 300000 };

/** Schema of the core keys. Plugin sections are checked by the kernel against each plugin's own schema. */
export const workerConfigSchema = {
  type: 'object',
  required: ['plugins'],
  properties: {
    worker: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        log_level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 5000 },
        max_body_bytes: { type: 'integer', minimum: 1, default: 6 * 1024 * 1024 },
        // Slow-drip (slowloris) clients: a connection must send its headers, and its whole request, in time.
        headers_timeout_ms: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
        request_timeout_ms: { type: 'integer', minimum: 100, maximum: 3600000, default: 60000 },
        max_connections: { type: 'integer', minimum: 1, maximum: 1000000, default: 1024 },
      },
    },
    plugins: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    select: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { defaults: limitSet(DEFAULT_LIMITS), max: limitSet(MAX_LIMITS) },
    },
    cgroup: cgroupPolicySchema,
  },
};

export const CORE_CONFIG_KEYS = new Set(Object.keys(workerConfigSchema.properties));

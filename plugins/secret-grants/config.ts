import type { SecretMode } from '../../core';

/** How the proxy puts the credential on an outgoing request. */
export type Injection =
  | { header: string; prefix?: string }
  | { basic_user: string }
  | { query: string };

/** What a role allows for one secret. */
export interface SecretGrant {
  /** proxy: used through the egress proxy only; env / file: the instance may hold it. */
  modes: SecretMode[];
  /** Where the proxy may send it: URL prefixes (scheme://host[:port][/path]), `*.` allowed at the start of the host. */
  destinations: string[];
  inject: Injection;
}

export interface Role {
  secrets: Record<string, SecretGrant>;
}

/** The `secret-grants:` section of the worker config, defaults applied by the kernel. */
export interface SecretGrantsConfig {
  roles: Record<string, Role>;
  grants: { functions: Record<string, string>; owners: Record<string, string> };
  /** A tmpfs under which each sandbox gets its egress socket and secret files. */
  run_dir: string;
  /** Where a sandbox sees them. */
  mount: string;
  /** JSON lines, one per use or denial; `<worker dir>/secrets-audit.log` when unset. */
  audit_log?: string;
  upstream_timeout_ms: number;
  max_secret_bytes: number;
}

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$' };

const injectionSchema = {
  default: { header: 'Authorization', prefix: 'Bearer ' },
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: { header: { type: 'string', pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }, prefix: { type: 'string' } },
    },
    { type: 'object', additionalProperties: false, required: ['basic_user'], properties: { basic_user: { type: 'string', pattern: '^[^:\\r\\n]*$' } } },
    { type: 'object', additionalProperties: false, required: ['query'], properties: { query: { type: 'string', minLength: 1 } } },
  ],
};

const grantSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    modes: { type: 'array', minItems: 1, items: { enum: ['proxy', 'env', 'file'] }, default: ['proxy'] },
    destinations: { type: 'array', items: { type: 'string', pattern: '^https?://' }, default: [] },
    inject: injectionSchema,
  },
};

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    roles: {
      type: 'object',
      default: {},
      propertyNames: name,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['secrets'],
        properties: { secrets: { type: 'object', propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }, additionalProperties: grantSchema } },
      },
    },
    grants: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        functions: { type: 'object', additionalProperties: name, default: {} },
        owners: { type: 'object', additionalProperties: name, default: {} },
      },
    },
    run_dir: { type: 'string', pattern: '^/', default: '/dev/shm', description: 'a tmpfs for per-sandbox egress sockets and secret files' },
    mount: { type: 'string', pattern: '^/[A-Za-z0-9_/.-]*$', default: '/run/ol', description: 'where a sandbox sees them' },
    audit_log: { type: 'string', pattern: '^/', description: 'default <worker dir>/secrets-audit.log' },
    upstream_timeout_ms: { type: 'integer', minimum: 100, default: 30000 },
    max_secret_bytes: { type: 'integer', minimum: 1, maximum: 1048576, default: 65536 },
  },
};

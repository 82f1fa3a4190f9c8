import * as path from 'node:path';

/** The `sock:` section of the worker config, defaults applied by the kernel. */
export interface SockConfig {
  launcher: string;
  python: string;
  base_root?: string;
  base_binds: string[];
  network: 'none' | 'host';
  tmp_mb: number;
  start_timeout_ms: number;
  hostname: string;
  uid: number;
  gid: number;
  output_max_bytes: number;
  /** Resource limits (setrlimit) of the function's processes: name -> [soft, hard]. */
  rlimits: Record<string, [number | 'unlimited', number | 'unlimited']>;
}

/** Compiled to dist/plugins/sock/: the launcher `make -C native` builds in this checkout. */
export const DEFAULT_LAUNCHER = path.resolve(__dirname, '../../../native/build/ol-launcher');

/**
 * Host paths a sandbox sees read-only at the same place when no base_root is
 * set: the system's programs and libraries, and only the /etc files Python
 * and libc read. Missing ones are skipped, so the list suits most distributions.
 */
export const DEFAULT_BASE_BINDS = [
  '/usr',
  '/lib',
  '/lib64',
  '/bin',
  '/sbin',
  '/etc/ld.so.cache',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/etc/ssl',
];

/** What base_root contributes: these top-level entries of it, read-only. */
export const BASE_ROOT_ENTRIES = ['usr', 'lib', 'lib64', 'bin', 'sbin', 'etc'];

const absolutePath = { type: 'string', pattern: '^/' };

export const sockConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    launcher: { type: 'string', minLength: 1, default: DEFAULT_LAUNCHER, description: 'the ol-launcher binary (native/)' },
    python: { ...absolutePath, default: '/usr/bin/python3', description: 'the interpreter, as a path inside the sandbox' },
    base_root: { ...absolutePath, description: 'a directory whose usr, lib, lib64, bin, sbin and etc form the sandbox base, instead of base_binds' },
    base_binds: { type: 'array', items: absolutePath, default: DEFAULT_BASE_BINDS, description: 'host paths bound read-only at the same place (skipped when missing)' },
    network: { enum: ['none', 'host'], default: 'none', description: "none: own network namespace with loopback only; host: the host's network" },
    tmp_mb: { type: 'integer', minimum: 1, maximum: 65536, default: 64, description: "size of each sandbox's private /tmp" },
    start_timeout_ms: { type: 'integer', minimum: 100, maximum: 600000, default: 10000, description: 'time for a sandbox to start and load its function' },
    hostname: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9-]{0,62})$', default: 'sandbox' },
    uid: { type: 'integer', minimum: 0, maximum: 4294967294, default: 65534, description: 'user the function runs as (65534: nobody)' },
    gid: { type: 'integer', minimum: 0, maximum: 4294967294, default: 65534, description: 'group the function runs as (65534: nogroup)' },
    output_max_bytes: { type: 'integer', minimum: 1024, maximum: 1073741824, default: 1048576, description: "bytes of each invocation's stdout, and of its stderr, kept (the middle of a longer stream is cut, marked)" },
    rlimits: {
      type: 'object',
      // nproc is left out on purpose: it counts every process of the uid, across all sandboxes (pids.max bounds each one).
      propertyNames: { enum: ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] },
      additionalProperties: { type: 'array', minItems: 2, maxItems: 2, items: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'unlimited' }] } },
      default: { core: [0, 0], nofile: [1024, 1024] },
      description: 'setrlimit of the function processes: name -> [soft, hard] (no core dumps, bounded open files by default)',
    },
  },
};

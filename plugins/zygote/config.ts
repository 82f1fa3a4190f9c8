/** One node of the configured zygote tree. */
export interface TreeNodeConfig {
  /** `name==version` pins this zygote imports (on top of its parent's). */
  packages: string[];
  children?: TreeNodeConfig[];
}

/** The `zygote:` section of the worker config. */
export interface ZygoteConfig {
  tree: TreeNodeConfig[];
  /** A root zygote (the runtime, no package): serves functions no other node matches, and every other zygote forks from it. */
  root: boolean;
  /** Grow the tree from the package sets functions actually use. */
  learn: boolean;
  /** Cold starts of one package set before a zygote is made for it. */
  learn_after: number;
  /** Zygotes alive at once; idle ones (no live instance) are evicted first, least recently used. */
  max_zygotes: number;
  /** Evict idle zygotes when the host's MemAvailable falls below this. */
  min_available_mb: number;
  /** Ask the ZygoteSuitability check (per package, and of each zygote before each fork). Off: no check at all. */
  check: boolean;
  /** Host dirs of installed packages (`<name>-<version>/`) that functions' `imports` may name (mounted at /packages/...). */
  package_dirs: string[];
  /** Memory limit of each zygote's cgroup. */
  mem_mb: number;
  /** A zygote with no live instance for this long is paused (frozen) until its next fork. */
  pause_after_ms: number;
}

const treeNode = {
  type: 'object',
  additionalProperties: false,
  required: ['packages'],
  properties: {
    packages: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9._-]+==[A-Za-z0-9.!+_-]+$' } },
    children: { type: 'array', items: { $ref: '#/$defs/node' } },
  },
};

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  $defs: { node: treeNode },
  properties: {
    tree: { type: 'array', items: { $ref: '#/$defs/node' }, default: [], description: 'configured zygotes: nodes with packages (name==version) and children' },
    root: { type: 'boolean', default: false, description: 'a root zygote without packages: functions with none are forked from it too, and top-level zygotes fork from it' },
    learn: { type: 'boolean', default: true },
    learn_after: { type: 'integer', minimum: 1, maximum: 1000, default: 2 },
    max_zygotes: { type: 'integer', minimum: 1, maximum: 1000, default: 16 },
    min_available_mb: { type: 'integer', minimum: 0, default: 256 },
    check: { type: 'boolean', default: true },
    package_dirs: { type: 'array', items: { type: 'string', pattern: '^/' }, default: [] },
    mem_mb: { type: 'integer', minimum: 16, maximum: 65536, default: 512 },
    pause_after_ms: { type: 'integer', minimum: 0, maximum: 86400000, default: 5000, description: 'pause a zygote unused this long (0: at once)' },
  },
};

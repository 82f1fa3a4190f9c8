/** The pypi plugin's config section, after schema defaults are applied. */
export interface PypiConfig {
  /** PEP 503 (HTML) or PEP 691 (JSON) simple index, e.g. https://pypi.org/simple */
  index_url: string;
  /** More simple indexes, asked after index_url; files of all of them are candidates. */
  extra_index_urls: string[];
  /** A local directory of .whl files, used as one more source (offline installs). */
  wheel_dir?: string;
  /** Where installed packages live; <worker dir>/packages when unset. */
  store_dir?: string;
  /** Disk budget of the store; least recently used packages no live function needs are evicted past it. */
  store_budget_mb: number;
  /** The interpreter whose tags and marker values decide which wheels fit (the sandbox's Python). */
  python: string;
  /** Consider pre-releases even when a requirement does not name one (pip's --pre). */
  allow_prereleases: boolean;
  /** Timeout of one request to an index. */
  timeout_ms: number;
  /** Backtracking steps before the resolver gives up on a graph. */
  max_rounds: number;
  /** Limits of the sandbox that builds a wheel from an sdist. */
  build: BuildConfig;
}

/** `pypi.build`: what one sdist build may use (it runs package code, so always in a sandbox). */
export interface BuildConfig {
  mem_mb: number;
  procs: number;
  cpu_percent: number;
  timeout_ms: number;
  /** An sdist unpacking to more than this is refused before anything runs. */
  max_unpacked_mb: number;
}

const BUILD_DEFAULTS: BuildConfig = { mem_mb: 1024, procs: 128, cpu_percent: 100, timeout_ms: 300000, max_unpacked_mb: 512 };

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    index_url: { type: 'string', minLength: 1, default: 'https://pypi.org/simple' },
    extra_index_urls: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    wheel_dir: { type: 'string', minLength: 1 },
    store_dir: { type: 'string', minLength: 1 },
    store_budget_mb: { type: 'integer', minimum: 1, default: 2048 },
    python: { type: 'string', minLength: 1, default: '/usr/bin/python3' },
    allow_prereleases: { type: 'boolean', default: false },
    timeout_ms: { type: 'integer', minimum: 100, default: 30000 },
    max_rounds: { type: 'integer', minimum: 1, default: 20000 },
    build: {
      type: 'object',
      additionalProperties: false,
      default: BUILD_DEFAULTS,
      properties: {
        mem_mb: { type: 'integer', minimum: 32, default: BUILD_DEFAULTS.mem_mb },
        procs: { type: 'integer', minimum: 8, default: BUILD_DEFAULTS.procs },
        cpu_percent: { type: 'integer', minimum: 1, default: BUILD_DEFAULTS.cpu_percent },
        timeout_ms: { type: 'integer', minimum: 1000, default: BUILD_DEFAULTS.timeout_ms },
        max_unpacked_mb: { type: 'integer', minimum: 1, default: BUILD_DEFAULTS.max_unpacked_mb },
      },
    },
  },
};

export function withDefaults(c: Partial<PypiConfig>): PypiConfig {
  return {
    index_url: c.index_url ?? 'https://pypi.org/simple',
    extra_index_urls: c.extra_index_urls ?? [],
    wheel_dir: c.wheel_dir,
    store_dir: c.store_dir,
    store_budget_mb: c.store_budget_mb ?? 2048,
    python: c.python ?? '/usr/bin/python3',
    allow_prereleases: c.allow_prereleases ?? false,
    timeout_ms: c.timeout_ms ?? 30000,
    max_rounds: c.max_rounds ?? 20000,
    build: { ...BUILD_DEFAULTS, ...c.build },
  };
}

/** The `zygote-suitability:` section of the worker config. */
export interface SuitabilityConfig {
  /** Where verdicts are cached (one JSON file per package version); relative to the worker dir. */
  cache_dir: string;
  /** Directories of installed packages (`<name>-<version>/` each) to check besides what the PackageResolver installs. */
  package_dirs: string[];
  /** Time for a probe sandbox to import a package. */
  probe_timeout_ms: number;
}

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cache_dir: { type: 'string', minLength: 1, default: 'zygote-suitability', description: 'verdict cache, relative to the worker dir' },
    package_dirs: { type: 'array', items: { type: 'string', pattern: '^/' }, default: [], description: 'host dirs holding <name>-<version>/ package dirs' },
    probe_timeout_ms: { type: 'integer', minimum: 1000, maximum: 600000, default: 30000 },
  },
};

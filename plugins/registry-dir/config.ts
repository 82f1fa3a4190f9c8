/** This plugin's config section, after schema defaults are applied. */
export interface RegistryDirConfig {
  /** Read-only directories whose sub-directories are functions (e.g. the bundled examples/). */
  dirs: string[];
  /** Where uploads go; the worker's registry dir when unset. */
  upload_dir?: string;
  max_archive_bytes: number;
  max_unpacked_bytes: number;
  max_files: number;
  /** How long a lookup's answer is reused before the function dir is walked again (0: walk on every request). */
  revalidate_ms: number;
}

const MiB = 1024 * 1024;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dirs: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    upload_dir: { type: 'string', minLength: 1 },
    max_archive_bytes: { type: 'integer', minimum: 1, default: 50 * MiB },
    max_unpacked_bytes: { type: 'integer', minimum: 1, default: 200 * MiB },
    max_files: { type: 'integer', minimum: 1, default: 10000 },
    revalidate_ms: { type: 'integer', minimum: 0, default: 1000 },
  },
};

/** Fills defaults for callers that bypass the kernel's schema check (tests, embedding). */
export function withDefaults(c: Partial<RegistryDirConfig>): RegistryDirConfig {
  return {
    dirs: c.dirs ?? [],
    upload_dir: c.upload_dir,
    max_archive_bytes: c.max_archive_bytes ?? 50 * MiB,
    max_unpacked_bytes: c.max_unpacked_bytes ?? 200 * MiB,
    max_files: c.max_files ?? 10000,
    revalidate_ms: c.revalidate_ms ?? 1000,
  };
}

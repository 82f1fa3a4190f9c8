/** The `quota-projquota:` section of the worker config, defaults applied by the kernel. */
export interface ProjquotaConfig {
  /** A directory on an ext4 or xfs file system mounted with project quotas (prjquota); the worker dir's `quota/` when unset. */
  dir?: string;
  /** When set, the plugin makes (once) an ext4 image of this size with project quotas and mounts it at `dir`, for hosts without a prjquota partition. */
  image_mb?: number;
  default_mb: number;
  owners: Record<string, number>;
  /** Project ids are allocated from here up, one per owner, and remembered in `<dir>/.projects.json`. */
  first_project_id: number;
}

export const PROJQUOTA_DEFAULTS = { default_mb: 1024, owners: {}, first_project_id: 7_000_000 };

export const projquotaConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', minLength: 1, description: 'a directory on a file system mounted with prjquota; default <worker dir>/quota' },
    image_mb: { type: 'integer', minimum: 16, maximum: 16 * 1024 * 1024, description: 'make and mount an ext4 image with project quotas at dir' },
    default_mb: { type: 'integer', minimum: 1, maximum: 16 * 1024 * 1024, default: PROJQUOTA_DEFAULTS.default_mb },
    owners: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' },
      additionalProperties: { type: 'integer', minimum: 1, maximum: 16 * 1024 * 1024 },
      default: {},
    },
    first_project_id: { type: 'integer', minimum: 1, maximum: 4_000_000_000, default: PROJQUOTA_DEFAULTS.first_project_id },
  },
} as const;

/** The `quota-loopfs:` section of the worker config, defaults applied by the kernel. */
export interface LoopfsConfig {
  /** Where images (`img/<owner>.ext4`) and their mount points (`m/<owner>`) live; the worker dir's `quota/` when unset. */
  dir?: string;
  /** Size of an owner's image (code and scratch together) unless `owners` names it. */
  default_mb: number;
  /** Per-owner sizes in MiB. */
  owners: Record<string, number>;
}

export const LOOPFS_DEFAULTS = { default_mb: 1024, owners: {} };

/** ext4 needs a few MiB for its own metadata and journal. */
export const MIN_MB = 16;

export const loopfsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', minLength: 1, description: 'images and mount points; default <worker dir>/quota' },
    default_mb: { type: 'integer', minimum: MIN_MB, maximum: 16 * 1024 * 1024, default: LOOPFS_DEFAULTS.default_mb, description: "an owner's image size (code + scratch) in MiB" },
    owners: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' },
      additionalProperties: { type: 'integer', minimum: MIN_MB, maximum: 16 * 1024 * 1024 },
      default: {},
      description: 'image size in MiB per owner (ol.yaml owner:)',
    },
  },
} as const;

/** The `debug-records:` section of the worker config, defaults applied by the kernel. */
export interface DebugRecordsConfig {
  /** Where records live; `<worker dir>/debug` when unset. */
  dir?: string;
  /** Records kept per function (the oldest go first). */
  keep_per_function: number;
  /** Records older than this are removed. */
  max_age_s: number;
  /** Functions with records; past it, the function recorded least recently loses all of its. */
  max_functions: number;
}

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', pattern: '^/', description: 'where records are stored (default: <worker dir>/debug)' },
    keep_per_function: { type: 'integer', minimum: 1, maximum: 100000, default: 100, description: 'invocation records kept per function' },
    max_age_s: { type: 'integer', minimum: 1, default: 86400, description: 'records older than this are removed' },
    max_functions: { type: 'integer', minimum: 1, default: 1000, description: 'functions with records kept; the least recently recorded one is dropped past it' },
  },
};

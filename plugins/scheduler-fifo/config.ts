/** The `scheduler-fifo:` section of the worker config, defaults applied by the kernel. */
export interface FifoConfig {
  /** Requests that may wait per function; one more is refused with 429. */
  queue_max: number;
  /** Instances one function may hold at once (idle, busy or starting). */
  max_instances_per_function: number;
  /** Instances the whole worker may hold at once, stopping ones included. */
  max_instances: number;
  /** The Retry-After a refused request gets, in seconds. */
  retry_after_s: number;
  /** Freeze idle instances (cgroup freezer) between requests. */
  pause_idle: boolean;
  /** Worker memory pool in MiB (OpenLambda's mem_pool_mb): the memory limits of all instances held stay within it; 0 = no pool. */
  mem_pool_mb: number;
}

export const FIFO_DEFAULTS: Readonly<FifoConfig> = {
  queue_max: 100,
  max_instances_per_function: 8,
  max_instances: 32,
  retry_after_s: 1,
  pause_idle: false,
  mem_pool_mb: 0,
};

export const fifoConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    queue_max: { type: 'integer', minimum: 0, maximum: 1000000, default: FIFO_DEFAULTS.queue_max, description: 'requests waiting per function before 429 Too Many Requests' },
    max_instances_per_function: { type: 'integer', minimum: 1, maximum: 100000, default: FIFO_DEFAULTS.max_instances_per_function, description: 'instances of one function at once' },
    max_instances: { type: 'integer', minimum: 1, maximum: 100000, default: FIFO_DEFAULTS.max_instances, description: 'instances in the whole worker at once' },
    retry_after_s: { type: 'integer', minimum: 0, maximum: 86400, default: FIFO_DEFAULTS.retry_after_s, description: 'Retry-After (seconds) on 429' },
    pause_idle: { type: 'boolean', default: FIFO_DEFAULTS.pause_idle, description: 'freeze idle instances between requests' },
    mem_pool_mb: { type: 'integer', minimum: 0, maximum: 16777216, default: FIFO_DEFAULTS.mem_pool_mb, description: 'worker memory pool: sum of the memory limits of all instances held (0: no pool)' },
  },
} as const;

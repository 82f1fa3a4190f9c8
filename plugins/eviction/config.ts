/** The `eviction:` section of the worker config, defaults applied by the kernel. 0 turns a policy off. */
export interface EvictionConfig {
  /** Idle instances not yet paused are frozen after this long without a request. */
  pause_after_ms: number;
  /** Idle instances are destroyed after this long without a request. */
  destroy_after_ms: number;
  /** A function not loaded for this long has its cached config and records released. */
  forget_after_ms: number;
  /** How often the one worker-wide sweeper looks, while anything is live. */
  sweep_ms: number;
}

export const EVICTION_DEFAULTS: Readonly<EvictionConfig> = {
  pause_after_ms: 1000,
  destroy_after_ms: 300_000,
  forget_after_ms: 600_000,
  sweep_ms: 1000,
};

const ms = (def: number, description: string) => ({ type: 'integer', minimum: 0, maximum: 86_400_000 * 30, default: def, description });

export const evictionConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pause_after_ms: ms(EVICTION_DEFAULTS.pause_after_ms, 'freeze an idle instance after this long (0: leave it to scheduler-fifo.pause_idle)'),
    destroy_after_ms: ms(EVICTION_DEFAULTS.destroy_after_ms, 'destroy an idle instance after this long (0: never, only under pressure)'),
    forget_after_ms: ms(EVICTION_DEFAULTS.forget_after_ms, "release an unused function's cached config and records after this long (0: never)"),
    sweep_ms: { type: 'integer', minimum: 10, maximum: 3_600_000, default: EVICTION_DEFAULTS.sweep_ms, description: 'granularity of the worker-wide idle sweeper' },
  },
} as const;

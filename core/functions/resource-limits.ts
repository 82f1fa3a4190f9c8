/** The limits a sandbox runs under, already resolved from operator defaults and the function's ol.yaml. */
export interface ResourceLimits {
  /** Memory the sandbox's processes may use, in MiB (kernel OOM-kills past it; no swap). */
  memMb: number;
  /** Processes and threads the sandbox may hold at once (pids.max). */
  procs: number;
  /** CPU bandwidth in percent of one CPU (100 = one full core). */
  cpuPercent: number;
  /** Wall-clock limit for one invocation, in milliseconds. */
  timeoutMs: number;
  /** cgroup v2 files to write after the limits above (kernel name -> canonical v2 value), already checked against the operator's policy. */
  cgroup?: Record<string, string>;
}

export const LIMIT_KEYS = {
  mem_mb: 'memMb',
  procs: 'procs',
  cpu_percent: 'cpuPercent',
  timeout_ms: 'timeoutMs',
} as const satisfies Record<string, keyof ResourceLimits>;

export type LimitKey = keyof typeof LIMIT_KEYS;

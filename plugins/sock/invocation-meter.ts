import { MIB, parseSize, type Cgroup, type CgroupUsage, type Invocation, type InvocationOutcome, type KnobRestore, type LoadedFunction } from '../../core';

export interface MeterHooks {
  /** Whether the instance is still alive after the run (a dead one has nothing to restore). */
  alive(): boolean;
  /** The previous cgroup values could not be put back: the instance must not serve again. */
  restoreFailed(err: Error): Promise<void>;
}

/**
 * Runs one invocation with its per-request cgroup keys applied to this
 * instance (an instance serves one request at a time, so they affect that
 * request only) and put back right after, and measures what it used from the
 * cgroup: wall time, CPU user/system, peak memory, I/O, throttling.
 */
export async function runMetered(cgroup: Cgroup, fn: LoadedFunction, inv: Invocation, run: () => Promise<InvocationOutcome>, hooks: MeterHooks): Promise<InvocationOutcome> {
  const restore = await applyOverride(cgroup, inv.cgroup);
  const window = await cgroup.startUsage?.().catch(() => undefined);
  const started = performance.now();
  let outcome: InvocationOutcome;
  try {
    outcome = await run();
  } finally {
    if (restore && hooks.alive()) await restore().catch((e: Error) => hooks.restoreFailed(e));
  }
  const runMs = performance.now() - started;
  const measured: CgroupUsage = (await window?.finish().catch(() => undefined)) ?? {};
  outcome.usage = { ...outcome.usage, ...definedOnly(usageFields(measured)), runMs: outcome.usage?.runMs ?? runMs, memoryLimitBytes: memoryLimit(fn, inv) };
  return outcome;
}

async function applyOverride(cgroup: Cgroup, knobs: Record<string, string> | undefined): Promise<KnobRestore | undefined> {
  if (!knobs || !Object.keys(knobs).length) return undefined;
  if (!cgroup.overrideKnobs) throw new Error(`this cgroup driver cannot set cgroup keys per request (${Object.keys(knobs).join(', ')})`);
  return cgroup.overrideKnobs(knobs);
}

function usageFields(u: CgroupUsage) {
  const cpuUsec = u.cpuUserUsec !== undefined && u.cpuSystemUsec !== undefined ? u.cpuUserUsec + u.cpuSystemUsec : undefined;
  return {
    cpuUsec,
    cpuUserUsec: u.cpuUserUsec,
    cpuSystemUsec: u.cpuSystemUsec,
    memoryPeakBytes: u.memoryPeakBytes,
    memoryPeakScope: u.memoryPeakScope,
    ioReadBytes: u.ioReadBytes,
    ioWriteBytes: u.ioWriteBytes,
    cpuThrottledUsec: u.cpuThrottledUsec,
  };
}

/** memory.max in force for this run: the request's, the function's cgroup key, or limits.mem_mb. */
function memoryLimit(fn: LoadedFunction, inv: Invocation): number | undefined {
  const key = inv.cgroup?.['memory.max'] ?? fn.limits.cgroup?.['memory.max'];
  if (key === undefined) return fn.limits.memMb * MIB;
  const n = parseSize(key);
  return Number.isFinite(n) ? n : undefined;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

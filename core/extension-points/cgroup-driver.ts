import { defineExtensionPoint, type Probeable } from '../plugin/extension-point';
import type { ResourceLimits } from '../functions/resource-limits';

/** Figures read from a sandbox's cgroup. Fields a host cannot give are undefined. */
export interface CgroupStats {
  memoryBytes?: number;
  memoryPeakBytes?: number;
  /** How many times the kernel's OOM killer has fired in this cgroup. */
  oomKills: number;
  pidsCurrent?: number;
  /** How many times a fork failed because pids.max was reached. */
  pidsLimitHits: number;
  cpuUsageUsec?: number;
}

/** What one invocation used, measured from its sandbox's cgroup (fields the host cannot give are undefined). */
export interface CgroupUsage {
  cpuUserUsec?: number;
  cpuSystemUsec?: number;
  /** High-water mark of the cgroup's memory (see memoryPeakScope). */
  memoryPeakBytes?: number;
  /** 'invocation' when the kernel let the peak be reset before the run; 'instance' when it is the instance's peak since it started. */
  memoryPeakScope?: 'invocation' | 'instance';
  ioReadBytes?: number;
  ioWriteBytes?: number;
  /** Time the CPU bandwidth limit (cpu.max) held the sandbox back. */
  cpuThrottledUsec?: number;
}

/** Started right before an invocation; finish() right after it reads the deltas. */
export interface UsageWindow {
  finish(): Promise<CgroupUsage>;
}

/** Puts back what an override changed. */
export type KnobRestore = () => Promise<void>;

/** One sandbox's cgroup (in v1: one directory per controller hierarchy). */
export interface Cgroup {
  readonly name: string;
  /** Files to write a pid into so that process joins this cgroup (all hierarchies). */
  readonly procsFiles: string[];
  setLimits(limits: ResourceLimits): Promise<void>;
  /** Freeze every process; resolves when the kernel reports the group frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Host pids of the member processes. */
  pids(): Promise<number[]>;
  /** SIGKILL every member and resolve once the kernel reports the group empty. */
  killAll(): Promise<void>;
  stats(): Promise<CgroupStats>;
  /**
   * Writes cgroup v2 keys (kernel name -> canonical v2 value, checked by
   * core/config/cgroup-policy.ts), translated to this driver's files.
   */
  setKnobs?(knobs: Record<string, string>): Promise<void>;
  /** Like setKnobs for one invocation: returns how to put the previous values back. */
  overrideKnobs?(knobs: Record<string, string>): Promise<KnobRestore>;
  /**
   * Start measuring one invocation (resetting the memory peak where the kernel allows).
   * finish() must still answer after destroy(): read the figures before removing the cgroup (UsageWindowSlot).
   */
  startUsage?(): Promise<UsageWindow>;
  /** Remove the (empty) cgroup. Slow removal is reported, never thrown past a bound. */
  destroy(): Promise<void>;
}

/**
 * Creates and controls sandbox cgroups. Combination: `first-available`: the
 * config lists drivers in order of preference; the first whose probe() says
 * it works on this host is used. Every cgroup a driver creates lives under
 * the cgroup the worker itself runs in (a delegated subtree), never elsewhere.
 */
export interface CgroupDriver extends Probeable {
  readonly version: 'v1' | 'v2';
  /**
   * Prepare this worker's subtree (named by `scope`, unique per worker dir).
   * Removes what a crashed worker with the same scope left behind.
   */
  init(scope: string): Promise<void>;
  create(name: string, limits: ResourceLimits): Promise<Cgroup>;
  /**
   * Whether this host can apply a cgroup v2 key: undefined when it can, else
   * why not (e.g. no v1 equivalent, controller not enabled), said to the user.
   */
  knobSupport?(key: string, value: string): string | undefined;
  /** Kill what is left in the subtree and remove it. */
  shutdown(): Promise<void>;
}

export const CgroupDriverPoint = defineExtensionPoint<CgroupDriver>({
  id: 'CgroupDriver',
  combine: 'first-available',
  optional: false,
});

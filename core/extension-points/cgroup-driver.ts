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
  /** Kill what is left in the subtree and remove it. */
  shutdown(): Promise<void>;
}

export const CgroupDriverPoint = defineExtensionPoint<CgroupDriver>({
  id: 'CgroupDriver',
  combine: 'first-available',
  optional: false,
});

import { defineExtensionPoint } from '../plugin/extension-point';

/** What one owner uses of its disk quota. */
export interface QuotaUsage {
  owner: string;
  usedBytes: number;
  limitBytes: number;
}

/**
 * Limits the disk space each owner (a function's `owner` in ol.yaml) uses for
 * code and scratch. Combination: `exclusive` and optional: one backend
 * (a loop-mounted image per owner, kernel project quotas...) enforces the
 * limits; without one, disk use is unlimited. Writes past the limit fail with
 * ENOSPC (or EDQUOT) in the writer, never in the worker or another owner.
 */
export interface DiskQuota {
  /** An empty directory on `owner`'s quota for one sandbox's writable scratch space (/host). */
  scratchDir(owner: string, sandboxId: string): Promise<string>;
  /** Remove what `scratchDir` made. Idempotent. */
  releaseScratch(owner: string, sandboxId: string): Promise<void>;
  /**
   * Charge an uploaded function's code to `owner` (replacing an earlier upload
   * of `name`). Throws an Error with `status` 413 and a message naming the
   * owner, the quota and what is free when it does not fit.
   */
  storeCode(owner: string, name: string, codeDir: string): Promise<void>;
  /** Stop charging `name`'s code (it was removed). */
  removeCode(name: string): Promise<void>;
  usage(): Promise<QuotaUsage[]>;
}

export const DiskQuotaPoint = defineExtensionPoint<DiskQuota>({
  id: 'DiskQuota',
  combine: 'exclusive',
  optional: true,
});

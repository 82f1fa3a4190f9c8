import { defineExtensionPoint } from '../plugin/extension-point';

/** Why a process is (or may be) unfit to fork from. */
export interface SuitabilityReason {
  /** threads, writable-file, directory, socket, pipe, anon-inode, child-process, shared-writable-mapping, read-only-file, device, import-error, ... */
  kind: string;
  /** True when forking from such a process is unsafe; false for a note worth showing. */
  unsafe: boolean;
  detail: string;
}

/** The verdict on one package version: may a zygote import it? */
export interface SuitabilityVerdict {
  /** Normalised package name (PEP 503). */
  package: string;
  version: string;
  suitable: boolean;
  reasons: SuitabilityReason[];
  /** Modules imported to reach the verdict. */
  modules: string[];
  /** ISO time of the probe. */
  checkedAt: string;
}

/**
 * Decides which packages may enter a zygote tree, and whether a live zygote
 * is still fit to fork from. Combination: `chain`, optional: the first
 * provider answers; with none, every package is allowed and no live check
 * runs (the zygote plugin then says so in its log).
 */
export interface ZygoteSuitability {
  /**
   * The verdict for `name` (at `version`, or the version the worker would
   * install), cached on disk; computed by importing it in a throwaway sandbox.
   * Null when the package cannot be found.
   */
  verdict(name: string, version?: string): Promise<SuitabilityVerdict | null>;
  /**
   * Cheap check of a live process (host pid) from outside: its unsafe traits,
   * ignoring the fds in `allowedFds` (the zygote's own). Empty: fit to fork.
   */
  inspect(pid: number, allowedFds: number[]): Promise<SuitabilityReason[]>;
}

export const ZygoteSuitabilityPoint = defineExtensionPoint<ZygoteSuitability>({
  id: 'ZygoteSuitability',
  combine: 'chain',
  optional: true,
  compose: (providers) => ({
    async verdict(name, version) {
      return providers.length ? providers[0].verdict(name, version) : null;
    },
    async inspect(pid, allowedFds) {
      return providers.length ? providers[0].inspect(pid, allowedFds) : [];
    },
  }),
});

import { defineExtensionPoint } from '../plugin/extension-point';

/** The packages one function needs, resolved and installed. */
export interface ResolvedPackages {
  /** name==version of every direct and indirect package, for reporting and freezing. */
  pins: string[];
  /** Host directories to mount read-only and put on the function's sys.path, in order. */
  paths: string[];
  /** True when the set came from the function's lock file (ol.lock) rather than a fresh resolution. */
  locked: boolean;
}

/**
 * Turns a function's PEP 508 requirements into installed packages.
 * Combination: `exclusive` and optional: without a resolver, a function that
 * declares packages fails to load with an error that says so.
 *
 * The FunctionLoader calls `resolve` once per function version (concurrent
 * loads share one call) and puts the result on `LoadedFunction.packages`.
 * Errors carry a numeric `status` (422: the requirements cannot be met, 503:
 * the index is unreachable) and an optional `hint`; both reach the caller.
 */
export interface PackageResolver {
  resolve(functionName: string, requirements: string[], codeDir: string): Promise<ResolvedPackages>;
  /** The worker forgot the function (removed, replaced, idle): what it resolved need not be kept. */
  forget?(functionName: string): void;
}

export const PackageResolverPoint = defineExtensionPoint<PackageResolver>({
  id: 'PackageResolver',
  combine: 'exclusive',
  optional: true,
});

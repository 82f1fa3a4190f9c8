import { defineExtensionPoint } from '../plugin/extension-point';

/** The packages one function needs, resolved and installed. */
export interface ResolvedPackages {
  /** name==version of every direct and indirect package, for reporting and freezing. */
  pins: string[];
  /** Host directories to mount read-only and put on the function's sys.path, in order. */
  paths: string[];
}

/**
 * Turns a function's PEP 508 requirements into installed packages.
 * Combination: `exclusive` and optional: without a resolver, a function that
 * declares packages fails to load with an error that says so.
 */
export interface PackageResolver {
  resolve(functionName: string, requirements: string[], codeDir: string): Promise<ResolvedPackages>;
}

export const PackageResolverPoint = defineExtensionPoint<PackageResolver>({
  id: 'PackageResolver',
  combine: 'exclusive',
  optional: true,
});

import * as path from 'node:path';
import { pinOf, readInstalledPackage, scanPackageDirs, type InstalledPackage, type LoadedFunction } from '../../core';

/** Where packages appear inside sandboxes: /packages/<name>-<version> (the pypi plugin's layout, kept for package_dirs). */
export const PACKAGES_MOUNT = '/packages';

/**
 * The installed packages a function uses, by pin: those its PackageResolver
 * installed (LoadedFunction.packages), else the package_dirs packages that
 * provide the modules of its `imports`.
 */
export function functionPackages(fn: LoadedFunction, packageDirs: string[]): InstalledPackage[] {
  if (fn.packages?.paths.length) {
    return fn.packages.paths.map((p) => readInstalledPackage(p)).filter((p): p is InstalledPackage => p !== null);
  }
  return localPackagesFor(fn.config.imports ?? [], packageDirs);
}

/** package_dirs packages providing the top-level module of each import (`a.b` -> `a`). */
export function localPackagesFor(imports: string[], packageDirs: string[]): InstalledPackage[] {
  if (!imports.length || !packageDirs.length) return [];
  const wanted = new Set(imports.map((m) => m.split('.')[0]));
  const found = new Map<string, InstalledPackage>();
  for (const pkg of scanPackageDirs(packageDirs)) {
    if (pkg.modules.some((m) => wanted.has(m)) && !found.has(pkg.name)) found.set(pkg.name, pkg);
  }
  return [...found.values()];
}

/** The mount target of an installed package inside a sandbox. */
export function mountTarget(pkg: InstalledPackage): string {
  return path.posix.join(PACKAGES_MOUNT, path.basename(pkg.dir));
}

export const pinsOf = (pkgs: InstalledPackage[]) => pkgs.map(pinOf).sort();

import * as os from 'node:os';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { rcompare } from '@renovatebot/pep440';
import { normalizePackageName, readInstalledPackage, scanPackageDirs, type PackageResolver, type ResolvedPackages } from '../../core';

/** A package version found for a check: what to mount and what to import. */
export interface FoundPackage {
  name: string;
  version: string;
  modules: string[];
  /** Host dirs of the package (and its dependencies) when found in package_dirs. */
  dirs: string[];
  /** Set when the PackageResolver installed it (its customizer mounts them). */
  resolved?: ResolvedPackages;
}

/** Look in the operator's package dirs first, then ask the PackageResolver (which installs it with its dependencies). */
export async function findPackage(rawName: string, version: string | undefined, packageDirs: string[], resolver: () => PackageResolver | undefined): Promise<FoundPackage | null> {
  const name = normalizePackageName(rawName);
  const local = scanPackageDirs(packageDirs).filter((p) => p.name === name && (!version || p.version === version));
  if (local.length) {
    const best = local.sort((a, b) => rcompare(a.version, b.version))[0];
    return { name, version: best.version, modules: best.modules, dirs: [best.dir] };
  }
  const r = resolver();
  if (!r) return null;
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ol-zcheck-'));
  try {
    const resolved = await r.resolve(`zygote-check-${name}`, [version ? `${name}==${version}` : name], scratch);
    const own = resolved.paths.map((p) => readInstalledPackage(p)).find((p) => p?.name === name);
    if (!own) return null;
    return { name, version: own.version, modules: own.modules, dirs: [], resolved };
  } catch (e) {
    if ((e as { status?: number }).status === 422) return null;
    throw e;
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

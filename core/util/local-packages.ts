import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * An installed package in a directory named `<name>-<version>` (the layout
 * of the pypi plugin's store, and of operator-provided package dirs), and
 * the top-level modules it provides (what `import` names).
 */
export interface InstalledPackage {
  /** PEP 503 normalised name. */
  name: string;
  version: string;
  /** Host directory: goes on sys.path. */
  dir: string;
  modules: string[];
}

/** PEP 503 normalisation: `Foo_Bar.baz` and `foo-bar-baz` are one package. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** `dir` read as an installed package, or null when its name is not `<name>-<version>`. */
export function readInstalledPackage(dir: string): InstalledPackage | null {
  const base = path.basename(dir);
  const dash = base.lastIndexOf('-');
  if (dash <= 0 || dash === base.length - 1) return null;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  const modules: string[] = [];
  for (const e of entries) {
    if (e.name.endsWith('.dist-info') || e.name.endsWith('.data') || e.name.startsWith('_') || e.name.startsWith('.')) continue;
    if (e.isDirectory() && fs.existsSync(path.join(dir, e.name, '__init__.py'))) modules.push(e.name);
    else if (e.isFile() && /^[A-Za-z_][A-Za-z0-9_]*\.py$/.test(e.name)) modules.push(e.name.slice(0, -3));
  }
  return { name: normalizePackageName(base.slice(0, dash)), version: base.slice(dash + 1), dir, modules: modules.sort() };
}

/** Every `<name>-<version>` package directly inside `dirs` (missing dirs are skipped). */
export function scanPackageDirs(dirs: string[]): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const pkg = readInstalledPackage(path.join(dir, n));
      if (pkg) found.push(pkg);
    }
  }
  return found;
}

/** `name==version` as used in pins and zygote keys. */
export function pinOf(pkg: { name: string; version: string }): string {
  return `${pkg.name}==${pkg.version}`;
}

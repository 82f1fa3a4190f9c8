import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PackageError } from './package-error';

/** PEP 517/518 `[build-system]` of a source tree. */
export interface BuildSystem {
  /** PEP 508 requirements installed before the backend is imported. */
  requires: string[];
  /** `module:object` whose build_wheel hook builds the wheel. */
  backend: string;
  /** In-tree directories (relative to the source root) put first on sys.path for the backend. */
  backendPath: string[];
}

/** PEP 517: a tree without `[build-system]` is built by setuptools the legacy way. */
export const LEGACY_BUILD: BuildSystem = { requires: ['setuptools>=40.8.0', 'wheel'], backend: 'setuptools.build_meta:__legacy__', backendPath: [] };

// Only the standard library's TOML parser runs (Python 3.11+): no package code.
const READ_PYPROJECT = String.raw`
import json, sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        doc = tomllib.load(f)
except FileNotFoundError:
    doc = {}
except tomllib.TOMLDecodeError as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
print(json.dumps({"build_system": doc.get("build-system")}))
`;

/** Read `[build-system]` from `<root>/pyproject.toml` with `python`'s tomllib; defaults per PEP 517/518. */
export async function readBuildSystem(python: string, root: string, what: string): Promise<BuildSystem> {
  let out: { error?: string; build_system?: Record<string, unknown> | null };
  try {
    const { stdout } = await promisify(execFile)(python, ['-I', '-S', '-c', READ_PYPROJECT, path.join(root, 'pyproject.toml')], { timeout: 15000 });
    out = JSON.parse(stdout);
  } catch (e) {
    throw new PackageError(`cannot read the pyproject.toml of ${what} with ${python}: ${(e as Error).message.split('\n')[0]}`, 'pypi.python must be Python 3.11 or newer (it parses pyproject.toml with tomllib)', 503);
  }
  if (out.error) throw new PackageError(`the pyproject.toml of ${what} is not valid TOML: ${out.error}`, 'pin a version whose sdist builds, or one that publishes a wheel');
  const table = out.build_system;
  if (!table) return LEGACY_BUILD;
  const requires = table.requires;
  if (!Array.isArray(requires) || !requires.every((r) => typeof r === 'string')) {
    throw new PackageError(`the pyproject.toml of ${what} has a [build-system] table without a list of strings "requires" (PEP 518)`, 'pin a version whose sdist builds, or one that publishes a wheel');
  }
  const backend = typeof table['build-backend'] === 'string' ? table['build-backend'] : LEGACY_BUILD.backend;
  const backendPath = Array.isArray(table['backend-path']) ? table['backend-path'].map(String) : [];
  if (backendPath.some((p) => path.isAbsolute(p) || path.normalize(p).split(path.sep).includes('..'))) {
    throw new PackageError(`the pyproject.toml of ${what} has a backend-path outside its source tree (PEP 517 forbids it)`, 'pin another version');
  }
  return { requires, backend, backendPath };
}

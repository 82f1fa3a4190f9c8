import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalizeName } from './requirement';

// importlib.metadata reads the dist-info/egg-info files of site-packages; no package code runs.
const LIST = String.raw`
import importlib.metadata as m, json
out = {}
for d in m.distributions():
    name = d.metadata["Name"]
    if name and name not in out:
        out[name] = d.version
print(json.dumps(out))
`;

/**
 * The distributions the sandbox interpreter itself has in its site-packages
 * (Debian's python3-setuptools, python3-wheel...), name -> version. Build
 * requirements that no index offers are taken from here. Empty when the
 * interpreter cannot say.
 */
export async function hostPackages(python: string): Promise<Map<string, string>> {
  try {
    const { stdout } = await promisify(execFile)(python, ['-I', '-c', LIST], { timeout: 15000 });
    return new Map(Object.entries(JSON.parse(stdout) as Record<string, string>).map(([n, v]) => [normalizeName(n), v]));
  } catch {
    return new Map();
  }
}

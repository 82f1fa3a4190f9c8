import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { withDefaults, type PypiConfig } from '../../config';
import { PypiResolver } from '../../pypi-resolver';
import { workerPaths } from '../../../../core/lifecycle/worker-paths';

/** A PypiResolver on a fresh temporary worker dir (its store under it). */
export function makeResolver(config: Partial<PypiConfig>): { resolver: PypiResolver; dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olpypi-'));
  const resolver = new PypiResolver(withDefaults(config), workerPaths(dir), pino({ level: process.env.OL_TEST_LOG ?? 'silent' }));
  return { resolver, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A function directory with the given files. */
export function functionDir(root: string, name: string, files: Record<string, string>): string {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
  return d;
}

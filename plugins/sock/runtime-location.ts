import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the runtime is mounted inside every sandbox, and the script in it. */
export const RUNTIME_MOUNT = '/runtime';
export const RUNTIME_SCRIPT = 'ol_serve.py';

/**
 * The host directory holding the runtime. The Python files are not compiled by tsc,
 * so from dist/plugins/sock/ it is found in the source tree; a packaged build
 * may copy it next to the compiled plugin instead.
 */
export function runtimeDir(): string {
  const candidates = [path.join(__dirname, 'runtime'), path.resolve(__dirname, '../../../plugins/sock/runtime')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, RUNTIME_SCRIPT)));
  if (!found) {
    throw new Error(`the sandbox runtime ${RUNTIME_SCRIPT} is missing (looked in ${candidates.join(', ')}); reinstall OL Kernel or restore plugins/sock/runtime/`);
  }
  return found;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginError } from './plugin-error';
import type { PluginManifest } from './plugin';

/** Built-in plugins live in plugins/<name>/ (compiled to dist/plugins/<name>/index.js). */
const BUILTIN_DIR = path.resolve(__dirname, '../../plugins');

/**
 * Find a plugin module by the name the config gives: a built-in plugin's
 * name, a filesystem path (absolute, or starting with ./ or ../), or an
 * installed package name. Returns its manifest (the module's default export).
 */
export async function loadPluginModule(ref: string): Promise<PluginManifest> {
  const target = locate(ref);
  let mod: any;
  try {
    mod = await import(pathToFileURL(target).href);
  } catch (e) {
    throw new PluginError(ref, `cannot load module ${target}: ${(e as Error).message}`);
  }
  const manifest = mod?.default?.default ?? mod?.default ?? mod;
  checkShape(ref, manifest);
  return manifest;
}

function locate(ref: string): string {
  if (path.isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../')) {
    const p = path.resolve(ref);
    if (!fs.existsSync(p)) throw new PluginError(ref, `no file or directory at ${p}`);
    return fs.statSync(p).isDirectory() ? require.resolve(p) : p;
  }
  const builtin = path.join(BUILTIN_DIR, ref, 'index.js');
  if (/^[a-z0-9][a-z0-9-]*$/.test(ref) && fs.existsSync(builtin)) return builtin;
  try {
    return require.resolve(ref, { paths: [process.cwd()] });
  } catch {
    const known = fs.existsSync(BUILTIN_DIR) ? fs.readdirSync(BUILTIN_DIR).join(', ') : '';
    throw new PluginError(ref, 'unknown plugin', `built-in plugins: ${known}; or give a path or an installed package name`);
  }
}

function checkShape(ref: string, m: any): asserts m is PluginManifest {
  const missing = ['name', 'version', 'coreApi', 'provides', 'requires', 'register'].filter((k) => m?.[k] === undefined);
  if (missing.length) {
    throw new PluginError(ref, `the module's default export is not a plugin manifest (missing ${missing.join(', ')})`, 'export default definePlugin({...})');
  }
}

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import * as tar from 'tar';
import { Header, type ReadEntry } from 'tar';
import { workerPaths } from '../../../core/lifecycle/worker-paths';
import type { RegistryDirConfig } from '../config';
import { DirRegistry } from '../dir-registry';

export const silent = pino({ level: 'silent' });

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(prefix = 'registry-dir-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A registry over a fresh worker dir; its upload dir is `<root>/worker/registry`. */
export function makeRegistry(config: Partial<RegistryDirConfig> = {}, root = tempDir()) {
  const paths = workerPaths(path.join(root, 'worker'));
  const registry = new DirRegistry(config, paths, silent);
  return { registry, root, uploadDir: paths.registry };
}

/** Writes files (relative path -> content) under `dir`, creating parents. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** A .tar.gz made by node-tar of `entries` (paths relative to `cwd`). */
export async function tarGz(cwd: string, entries: string[] = ['.'], opts: Partial<tar.TarOptionsWithAliasesAsyncNoFile> = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tar.c({ gzip: true, cwd, portable: true, ...opts }, entries) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A .tar.gz of the files given, at the archive's top level. */
export async function archiveOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  return tarGz(writeTree(tempDir('registry-dir-src-'), files));
}

export interface RawEntry {
  path: string;
  type?: ReadEntry['type'];
  body?: Buffer | string;
  /** Declared size when it should differ from the body (a header that lies). */
  size?: number;
  linkpath?: string;
}

/** Hand-made tar headers, for archives no well-behaved tool would write. */
export function rawTarGz(entries: RawEntry[], trailer = 0): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const block = Buffer.alloc(512);
    new Header({ path: e.path, type: e.type ?? 'File', size: e.size ?? body.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(), linkpath: e.linkpath }).encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024 + trailer));
  return gzipSync(Buffer.concat(blocks));
}

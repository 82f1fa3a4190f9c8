import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { UploadInfo } from '../../core';

/**
 * What an upload recorded about its function (its owner), kept in the
 * uploaded directory itself so it is swapped in and out with the code in
 * one rename and is part of the version. Mode 0600: the sandbox's
 * unprivileged user cannot read it at /handler.
 */
export const UPLOAD_INFO_FILE = '.ol-upload.json';

/** Records `info` in a freshly extracted function root. A file of that name in the archive is replaced: an archive cannot name its own owner. */
export async function writeUploadInfo(root: string, info: UploadInfo): Promise<void> {
  const file = path.join(root, UPLOAD_INFO_FILE);
  await fs.rm(file, { recursive: true, force: true });
  if (info.owner === undefined) return;
  await fs.writeFile(file, JSON.stringify({ owner: info.owner }) + '\n', { mode: 0o600 });
}

/** What the upload in `codeDir` recorded (nothing for code that did not come through an upload). */
export async function readUploadInfo(codeDir: string): Promise<UploadInfo> {
  let text: string;
  try {
    text = await fs.readFile(path.join(codeDir, UPLOAD_INFO_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  const owner = (JSON.parse(text) as { owner?: unknown }).owner;
  return typeof owner === 'string' ? { owner } : {};
}

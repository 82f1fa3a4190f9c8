import * as yauzl from 'yauzl';

export interface ZipEntry {
  name: string;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Unix permission bits from the archive (0 when the archive has none). */
  mode: number;
  size: number;
  read(): Promise<Buffer>;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * Visit every entry of a zip held in memory, one at a time. yauzl checks the
 * central directory against local headers and entry sizes (zip bombs that lie
 * about their size fail) and refuses absolute and `..` names; its errors come
 * back as a rejected promise.
 */
export async function eachZipEntry(data: Buffer, visit: (e: ZipEntry) => Promise<void>): Promise<void> {
  const zip = await yauzl.fromBufferPromise(data, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true });
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      zip.close();
      reject(e);
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
      const e: ZipEntry = {
        name: entry.fileName,
        isDirectory: entry.fileName.endsWith('/'),
        isSymlink: (unixMode & S_IFMT) === S_IFLNK,
        mode: unixMode & 0o7777,
        size: entry.uncompressedSize,
        read: () => readEntry(zip, entry),
      };
      visit(e).then(() => zip.readEntry(), fail);
    });
    zip.readEntry();
  });
}

/** The entry name when yauzl refused an absolute or `..` name (a path-traversal attempt), else null. */
export function traversalEntry(e: unknown): string | null {
  const m = /^(?:invalid relative path|absolute path): (.*)$/.exec((e as Error)?.message ?? '');
  return m ? m[1] : null;
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

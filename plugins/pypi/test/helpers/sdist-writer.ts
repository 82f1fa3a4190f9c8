import * as zlib from 'node:zlib';

export interface TarInput {
  name: string;
  data?: Buffer | string;
  /** ustar type flag: '0' file (default), '5' directory, '2' symlink, '1' hard link. */
  type?: '0' | '1' | '2' | '5';
  linkname?: string;
  mode?: number;
}

/**
 * A minimal ustar + gzip writer for test sdists, including malicious ones
 * (`../` names, links) that tar tools refuse to create.
 */
export function writeTarGz(entries: TarInput[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8');
    const type = e.type ?? '0';
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write(octal(e.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(type === '0' ? data.length : 0, 12), 124);
    h.write(octal(1700000000, 12), 136);
    h.write('        ', 148);
    h.write(type, 156);
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\u000000', 257, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
    blocks.push(h);
    if (type === '0') blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\u0000';
}

/** An sdist: `<name>-<version>/` holding `files` (setup.py, pyproject.toml, the package...) and a PKG-INFO. */
export function buildSdist(name: string, version: string, files: Record<string, string>): Buffer {
  const top = `${name}-${version}`;
  const pkgInfo = `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`;
  return writeTarGz([
    { name: `${top}/`, type: '5' },
    { name: `${top}/PKG-INFO`, data: pkgInfo },
    ...Object.entries(files).map(([f, data]) => ({ name: `${top}/${f}`, data })),
  ]);
}
